package workflows_test

import (
	"slices"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/workflows"
)

// A decision's seal names the workflow id, not the run, and a decide
// signal's seal age is not checked (it may wait for a worker), while the
// "each seal once" memory lives in the run's state. So a sealed vote read
// back from an earlier run of the same workflow id (dispatch reuses a
// detection's workflow id once the namespace's retention has dropped the
// old run) and sent as a signal straight to Temporal (the threat the
// seals exist for; the encrypted payload is copied, not read) counts in
// the new run: a person who never
// saw this run approves its containment. A seal made before the run even
// started (beyond the clock-skew margin, MaxAge) cannot be a vote on it.
//
// The decide signal loop refuses a seal whose At is more than
// signing.MaxAge before the run's start, behind
// workflow.GetVersion(ChangeSealAfterRunStart) like the other signal
// checks (the Update validator needs no gate: Fresh refuses there).
func TestSignalledSealFromBeforeTheRunRefused(t *testing.T) {
	h, _ := newGateHarness(t, 1, "deny", "")
	h.env.RegisterDelayedCallback(func() {
		// Sealed eight days ago: the retention of the earlier run (168h)
		// plus a day.
		at := h.env.Now().Add(-8 * 24 * time.Hour)
		h.env.SignalWorkflow(workflows.SignalDecide, h.sealAt(workflows.Decision{GateID: "isolate", Approve: true, User: "UCAROL", Reason: "ok"}, at))
	}, 5*time.Minute)
	res := runGate(t, h, 1, "deny", "", "")
	g := res.Gates[0]
	if g.State == workflows.GateApproved || len(g.Votes) != 0 {
		t.Errorf("gate %s, votes %+v: a vote sealed 8 days before the run started counted", g.State, g.Votes)
	}
}

// The same for a finding record: a sealed withdrawal copied from an
// earlier run of the workflow id (with on_withdraw: rollback it would undo
// the new run's containment) is refused; the run goes on.
func TestSignalledFindingFromBeforeTheRunRefused(t *testing.T) {
	h := newHarness(t)
	seen := h.record(map[string]any{"already": false}, "okta.suspend_user", "okta.unsuspend_user", "crowdstrike.contain_host", "jira.create_issue")
	f := &gateFake{}
	f.register(h.env)
	allowPolicy(h)
	c := compileYAML(t, replaceOnce(lifecyclePlaybook, "%s", "on_withdraw: rollback"))
	det := map[string]any{"actor": map[string]any{"user": map[string]any{"email_addr": "j.doe@example.com"}}, "device": map[string]any{"hostname": "fin-ws-042"}}
	h.env.RegisterDelayedCallback(func() {
		u := withdrawal
		u.By, u.Via = "UDETECTOR", workflows.ViaIntake
		old, err := workflows.SealFinding(h.keys, testWorkflowID, u, h.env.Now().Add(-8*24*time.Hour))
		if err != nil {
			t.Error(err)
		}
		h.env.SignalWorkflow(workflows.SignalFinding, old)
	}, 10*time.Minute)
	var ok string
	h.vote(20*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "U1"}, &ok)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
	res, err := resultOf(h)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.Withdrawn != nil || slices.Contains(seen.list, "okta.unsuspend_user") || res.Outcome == workflows.OutcomeWithdrawn {
		t.Errorf("withdrawn %+v, calls %v, outcome %s: a withdrawal sealed 8 days before the run started was applied", res.Withdrawn, seen.list, res.Outcome)
	}
}
