package workflows_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/workflows"
)

// approvalStates records the values the run upserts for the ApprovalState
// search attribute, in order, each change once.
func approvalStates(h *harness) func() []string {
	var mu sync.Mutex
	var seen []string
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa, ok := args.Get(0).(temporal.SearchAttributes)
		if !ok {
			return
		}
		v, ok := sa.GetKeyword(workflows.SAApprovalState)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 || seen[len(seen)-1] != v {
			seen = append(seen, v)
		}
	}).Return(nil)
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// The ApprovalState search attribute follows a gate through its life
// (README: "The `ApprovalState` search attribute (pending, approved,
// denied, timed_out, escalated) is kept current").
func TestApprovalStateSearchAttribute(t *testing.T) {
	cases := []struct {
		name      string
		onTimeout string
		extra     string
		votes     []workflows.Decision
		want      []string
	}{
		{"approved", "deny", "", []workflows.Decision{
			{GateID: "isolate", Approve: true, User: "UBOB"},
		}, []string{workflows.GatePending, workflows.GateApproved}},
		{"denied", "deny", "", []workflows.Decision{
			{GateID: "isolate", Approve: false, User: "UBOB", Reason: "production DB"},
		}, []string{workflows.GatePending, workflows.GateDenied}},
		{"timed out", "deny", "", nil,
			[]string{workflows.GatePending, workflows.GateTimedOut}},
		{"escalated then approved", "escalate", "escalate_to: {users: [UBOSS], timeout: 1h}", []workflows.Decision{
			{GateID: "isolate", Approve: true, User: "UBOSS", MessageTS: "1700000000.000002"},
		}, []string{workflows.GatePending, workflows.GateEscalated, workflows.GateApproved}},
		{"escalated then timed out", "escalate", "escalate_to: {users: [UBOSS], timeout: 1h}", nil,
			[]string{workflows.GatePending, workflows.GateEscalated, workflows.GateTimedOut}},
	}
	for _, rev := range []int{workflows.RevOriginal, workflows.CurrentRev} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("rev%d/%s", rev, tc.name), func(t *testing.T) {
				h, _ := newGateHarness(t, 1, tc.onTimeout, tc.extra)
				states := approvalStates(h)
				// Votes come after the first round's 30m when the gate
				// escalates, else within it.
				at := time.Minute
				if tc.onTimeout == "escalate" {
					at = 40 * time.Minute
				}
				got := make([]string, len(tc.votes))
				for i, d := range tc.votes {
					h.vote(at+time.Duration(i)*time.Minute, d, &got[i])
				}
				c := compileYAML(t, fmt.Sprintf(gatePlaybook, 1, tc.onTimeout, tc.extra))
				h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, Rev: rev})
				if !h.env.IsWorkflowCompleted() {
					t.Fatal("workflow did not complete")
				}
				for i, g := range got {
					if g != "" {
						t.Fatalf("vote %d refused: %s", i, g)
					}
				}
				if s := states(); !slices.Equal(s, tc.want) {
					t.Errorf("ApprovalState went %v, want %v", s, tc.want)
				}
			})
		}
	}
}
