package workflows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// defaultTimeoutPlaybook: a gate whose step says no timeout (%s: an
// optional timeout line).
const defaultTimeoutPlaybook = `apiVersion: riposte/v1
name: gated-default
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: core.noop
    approval:
      approvers: {users: [UBOB]}
      %s
`

// TestGateTimeoutDefault pins the README's "timeout: default 30m (or
// RIPOSTE_APPROVAL_TIMEOUT)": without a step timeout the gate times out
// after 30 minutes of workflow time, not before; the site's default
// (Input.Approval.Timeout, read from RIPOSTE_APPROVAL_TIMEOUT by serve:
// internal/system TestApprovalDefaultsTimeout) replaces it, and a step's own
// timeout wins over both.
func TestGateTimeoutDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		site time.Duration // Input.Approval.Timeout
		step string
		want time.Duration
	}{
		{"default", 0, "", 30 * time.Minute},
		{"site", 45 * time.Minute, "", 45 * time.Minute},
		{"site shorter", 10 * time.Minute, "", 10 * time.Minute},
		{"step", 45 * time.Minute, "timeout: 20m", 20 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(t *testing.T, voteAt time.Duration) (*workflows.Result, string) {
				h, _ := newGateHarness(t, 1, "deny", "")
				vote := "" // h.vote sets it only when refused
				if voteAt > 0 {
					h.vote(voteAt, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &vote)
				}
				c := compileYAML(t, fmt.Sprintf(defaultTimeoutPlaybook, tc.step))
				h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{
					Playbook: c.Playbook, Digest: c.Digest, Detection: det,
					Approval: workflows.ApprovalDefaults{Timeout: playbook.Duration(tc.site)},
				})
				if !h.env.IsWorkflowCompleted() {
					t.Fatal("workflow did not complete")
				}
				res, err := resultOf(h)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Gates) != 1 {
					t.Fatalf("gates = %+v", res.Gates)
				}
				return res, vote
			}
			t.Run("times out", func(t *testing.T) {
				res, _ := run(t, 0)
				wantStatuses(t, res, map[string]string{"isolate": "timed_out"})
				g := res.Gates[0]
				if g.State != workflows.GateTimedOut || g.Decision == nil || g.Decision.Via != workflows.ViaTimeout {
					t.Fatalf("gate = %+v", g)
				}
				if got := g.ExpiresAt.Sub(g.OpenedAt); got != tc.want {
					t.Errorf("gate expires %s after it opened, want %s", got, tc.want)
				}
				if g.ClosedAt == nil || g.ClosedAt.Sub(g.OpenedAt) != tc.want {
					t.Errorf("gate opened %s, closed %v: want it closed by its timeout %s later", g.OpenedAt, g.ClosedAt, tc.want)
				}
			})
			t.Run("open until then", func(t *testing.T) {
				res, vote := run(t, tc.want-time.Second)
				if vote != "" {
					t.Errorf("a vote %s after the gate opened was refused: %q", tc.want-time.Second, vote)
				}
				wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
				if g := res.Gates[0]; g.State != workflows.GateApproved || g.Decision == nil || g.Decision.User != "UBOB" {
					t.Errorf("gate = %+v", g)
				}
			})
		})
	}
}
