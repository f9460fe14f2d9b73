package workflows_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// A rollback whose mark the withdrawn run took after the block's release
// failed planned the block too, but the firewall refused that unblock as
// well (the rollback failed; the isolation it did undo). The block is
// still in place and no run of the finding undid it: it is handed over
// to the new run, whose rollback (the retry: the API plans the latest
// run) undoes it. Left out, it was in no run's plan and nothing in
// Riposte lifted it any more.
//
// A rollback that failed for the isolation only undid the block: the
// block is left out, or the new run's rollback would unblock the address
// a second time, lifting a block put back since.
func TestReopenHandsOverAFailedReleaseAFailedRollbackLeft(t *testing.T) {
	for _, blockUndone := range []bool{false, true} {
		if inherited := reopenAfterFailedRollback(t, blockUndone); blockUndone {
			for _, ih := range inherited {
				if ih.Step == "block" {
					t.Errorf("inherited %+v; want the block left out: the failed rollback undid it", inherited)
				}
			}
		} else {
			var block *workflows.InheritedHold
			for i, ih := range inherited {
				if ih.Step == "block" {
					block = &inherited[i]
				}
			}
			if block == nil || block.ReleaseFailedAt == nil || len(block.FailedTargets) != 1 || block.FailedTargets[0]["ip"] != "203.0.113.7" {
				t.Errorf("inherited %+v; want the block handed over, its release failed, on 203.0.113.7: the failed rollback did not undo it", inherited)
			}
		}
	}
}

// reopenAfterFailedRollback runs reopenTwoHolds: the block's release
// fails, the finding is withdrawn, a rollback marks the run after the
// failure and fails (the isolation's undo failed; the block's too unless
// blockUndone), and the finding is reopened. It returns the holds the run
// handed over.
func reopenAfterFailedRollback(t *testing.T, blockUndone bool) []workflows.InheritedHold {
	t.Helper()
	const t0 = int64(1763458937000)
	h, _ := outcomeHarness(t, false)
	h.action("panos.block_ip", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("panos.unblock_ip", func(context.Context, catalog.Call) (map[string]any, error) { return nil, firewallRefuses })
	h.action("defender.unisolate_machine", (&undoCalls{}).fn(map[string]any{}))
	ip := map[string]any{"ip": "203.0.113.7"}
	blockResult := workflows.UndoResult{UndoCall: workflows.UndoCall{Step: "block", Action: "panos.block_ip", Undo: "panos.unblock_ip", Index: -1, Params: ip},
		Status: playbook.StatusFailed, Error: "panos: HTTP 403 Forbidden"}
	if blockUndone {
		blockResult.Status, blockResult.Error = playbook.StatusSucceeded, ""
	}
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
		return workflows.RollbackOutcome{Error: "2 undo calls failed", Undo: []workflows.UndoResult{
			{UndoCall: workflows.UndoCall{Step: "isolate", Action: "defender.isolate_machine", Undo: "defender.unisolate_machine", Index: -1,
				Params: map[string]any{"hostname": "fin-ws-042"}}, Status: playbook.StatusFailed, Error: "defender: HTTP 503"},
			blockResult,
		}}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityRollbackOutcome})
	d := map[string]any{"time": t0, "finding_info": map[string]any{"uid": "f-1"}, "device": map[string]any{"hostname": "fin-ws-042"}}
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+1_800_000, "withdrawn")))
	}, 30*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalRolledBack, h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}))
	}, 90*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+7_200_000, "active")))
	}, 2*time.Hour)
	c := compileYAML(t, reopenTwoHolds)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: d, Rev: workflows.LatestRev})
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("err = %v, want the run continued as new", err)
	}
	var next workflows.Input
	if err := decodeInput(can, &next); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(next.Inherited, func(ih workflows.InheritedHold) bool { return ih.Step == "isolate" }) {
		t.Errorf("inherited %+v; want the isolation, held again after the failed rollback", next.Inherited)
	}
	return next.Inherited
}
