package workflows_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
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

// reopenWithdrawRollback is reopenTwoHolds with on_withdraw: rollback.
const reopenWithdrawRollback = `apiVersion: riposte/v1
name: reopenwr
version: 1
on_withdraw: rollback
trigger: {when: "true"}
steps:
  - id: block
    action: panos.block_ip
    with: {ip: "203.0.113.7"}
    approval: auto
    contain_for: 1h
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "${{ detection.device.hostname }}"}
    approval: auto
    contain_for: 4h
`

// The block's release fails (1h); the finding is withdrawn after it
// (90m) and on_withdraw: rollback undoes what is in place: the block
// (its release failed, so it is still in place) and the host, whose
// unisolate fails (the run holds it on). Reopened (2h), the run hands over
// the block only when the withdrawal's unblock failed too: one that
// succeeded lifted it, and the new run's rollback would unblock the
// address a second time.
func TestReopenFailedReleaseAfterTheWithdrawalsRollback(t *testing.T) {
	const t0 = int64(1763458937000)
	for _, withdrawalUnblocks := range []bool{true, false} {
		h, _ := outcomeHarness(t, false)
		h.action("panos.block_ip", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
		var withdrawn int
		h.action("panos.unblock_ip", func(_ context.Context, c catalog.Call) (map[string]any, error) {
			if strings.HasSuffix(c.StepID, ".withdrawn") {
				withdrawn++
				if withdrawalUnblocks {
					return map[string]any{}, nil
				}
			}
			return nil, firewallRefuses
		})
		h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
			return nil, temporal.NewNonRetryableApplicationError("defender: HTTP 503", "VendorError", nil)
		})
		d := map[string]any{"time": t0, "finding_info": map[string]any{"uid": "f-1"}, "device": map[string]any{"hostname": "fin-ws-042"}}
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+5_400_000, "withdrawn")))
		}, 90*time.Minute)
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+7_200_000, "active")))
		}, 2*time.Hour)
		c := compileYAML(t, reopenWithdrawRollback)
		h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: d, Rev: workflows.LatestRev})
		var can *workflow.ContinueAsNewError
		if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
			t.Fatalf("withdrawal unblocks %v: err = %v, want the run continued as new", withdrawalUnblocks, err)
		}
		var next workflows.Input
		if err := decodeInput(can, &next); err != nil {
			t.Fatal(err)
		}
		if withdrawn != 1 {
			t.Fatalf("withdrawal unblocks %v: the withdrawal called the unblock %d time(s), want 1 (the block's release failed: still in place)", withdrawalUnblocks, withdrawn)
		}
		handed := slices.ContainsFunc(next.Inherited, func(ih workflows.InheritedHold) bool { return ih.Step == "block" })
		if handed == withdrawalUnblocks {
			t.Errorf("withdrawal unblocks %v: inherited %+v; want the block handed over only if the withdrawal's unblock failed", withdrawalUnblocks, next.Inherited)
		}
		if !slices.ContainsFunc(next.Inherited, func(ih workflows.InheritedHold) bool { return ih.Step == "isolate" }) {
			t.Errorf("withdrawal unblocks %v: inherited %+v; want the isolation (its undo failed)", withdrawalUnblocks, next.Inherited)
		}
	}
}

// reopenLaterUnblock blocks an address for 1h and holds the host 4h; a
// later step, behind an approval, unblocks the address.
const reopenLaterUnblock = `apiVersion: riposte/v1
name: reopenlater
version: 1
trigger: {when: "true"}
steps:
  - id: block
    action: panos.block_ip
    with: {ip: "203.0.113.7"}
    approval: auto
    contain_for: 1h
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "${{ detection.device.hostname }}"}
    approval: auto
    contain_for: 4h
  - id: unblock
    action: panos.unblock_ip
    with: {ip: "203.0.113.7"}
    needs: [block]
    approval: {approvers: {users: [UBOB]}, timeout: 3h, on_timeout: deny}
`

// The block's release fails (1h: the firewall refuses); UBOB then
// approves the run's own unblock step (70m), which the firewall takes.
// Withdrawn and reopened, the run does not hand the block over: the
// address was unblocked since, and the new run's rollback would unblock
// it again, lifting a block put back since by someone else. Approved
// before the failure (50m: the step's unblock is refused too), it is
// handed over.
func TestReopenFailedReleaseALaterStepUnblocked(t *testing.T) {
	const t0 = int64(1763458937000)
	for _, after := range []bool{true, false} {
		h, _ := outcomeHarness(t, false)
		h.action("panos.block_ip", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
		var stepUnblocks int
		h.action("panos.unblock_ip", func(_ context.Context, c catalog.Call) (map[string]any, error) {
			if c.StepID == "unblock" && after {
				stepUnblocks++
				return map[string]any{}, nil
			}
			return nil, firewallRefuses
		})
		h.action("defender.unisolate_machine", (&undoCalls{}).fn(map[string]any{}))
		approveAt := 70 * time.Minute
		if !after {
			approveAt = 50 * time.Minute
		}
		var vote string
		h.vote(approveAt, workflows.Decision{GateID: "unblock", Approve: true, User: "UBOB"}, &vote)
		d := map[string]any{"time": t0, "finding_info": map[string]any{"uid": "f-1"}, "device": map[string]any{"hostname": "fin-ws-042"}}
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+5_400_000, "withdrawn")))
		}, 90*time.Minute)
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+7_200_000, "active")))
		}, 2*time.Hour)
		c := compileYAML(t, reopenLaterUnblock)
		h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: d, Rev: workflows.LatestRev})
		var can *workflow.ContinueAsNewError
		if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
			t.Fatalf("after %v: err = %v, want the run continued as new", after, err)
		}
		var next workflows.Input
		if err := decodeInput(can, &next); err != nil {
			t.Fatal(err)
		}
		if vote != "" || (after && stepUnblocks != 1) {
			t.Fatalf("after %v: vote %q, the step unblocked %d time(s); want it approved and run", after, vote, stepUnblocks)
		}
		handed := slices.ContainsFunc(next.Inherited, func(ih workflows.InheritedHold) bool { return ih.Step == "block" })
		if handed == after {
			t.Errorf("after %v: inherited %+v; want the block handed over only when the later unblock did not succeed after the failure", after, next.Inherited)
		}
	}
}

// reopenBlockOnly blocks an address for 1h.
const reopenBlockOnly = `apiVersion: riposte/v1
name: reopenblock
version: 1
trigger: {when: "true"}
steps:
  - id: block
    action: panos.block_ip
    with: {ip: "203.0.113.7"}
    approval: auto
    contain_for: 1h
`

// A run that itself continues a withdrawn one holds the host it inherited
// (4h) besides its own block, whose release fails (1h). Withdrawn, it is
// rolled back after the failure: the mark releases none of its holds (the
// inherited one keeps its release, the block's was released with its
// error), yet the rollback planned the block, and the firewall refused
// that unblock too. The run waits for that rollback's outcome before it
// continues for the reopened finding, as it does when the mark released
// a hold: the block, still in place, is handed over, and the retry of the
// rollback (planned for the latest run) undoes it. Before, the run did
// not read the outcome and dropped the block as if the rollback had
// undone it.
func TestReopenAwaitsARollbackOfAFailedReleaseAlone(t *testing.T) {
	const t0 = int64(1763458937000)
	h, _ := outcomeHarness(t, false)
	h.action("panos.block_ip", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("panos.unblock_ip", func(context.Context, catalog.Call) (map[string]any, error) { return nil, firewallRefuses })
	h.action("defender.unisolate_machine", (&undoCalls{}).fn(map[string]any{}))
	var outcomes int
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
		outcomes++
		return workflows.RollbackOutcome{Error: "1 undo call failed", Undo: []workflows.UndoResult{
			{UndoCall: workflows.UndoCall{Step: "block", Action: "panos.block_ip", Undo: "panos.unblock_ip", Index: -1, Params: map[string]any{"ip": "203.0.113.7"}},
				Status: playbook.StatusFailed, Error: "panos: HTTP 403 Forbidden"},
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
	c := compileYAML(t, reopenBlockOnly)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: d, Rev: workflows.LatestRev,
		ReopenedFrom: "run-z", Inherited: []workflows.InheritedHold{{Step: "isolate", Undo: "defender.unisolate_machine",
			Until: h.env.Now().Add(4 * time.Hour), Targets: []map[string]any{{"hostname": "fin-ws-042"}}}}})
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("err = %v, want the run continued as new", err)
	}
	var next workflows.Input
	if err := decodeInput(can, &next); err != nil {
		t.Fatal(err)
	}
	if outcomes != 1 {
		t.Errorf("the run read the rollback's outcome %d time(s), want 1", outcomes)
	}
	if !slices.ContainsFunc(next.Inherited, func(ih workflows.InheritedHold) bool {
		return ih.Step == "block" && ih.ReleaseFailedAt != nil && len(ih.FailedTargets) == 1
	}) {
		t.Errorf("inherited %+v; want the block handed over: the rollback failed to undo it", next.Inherited)
	}
}
