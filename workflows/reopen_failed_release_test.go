package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// reopenTwoHolds blocks an address for 1h and isolates the host for 4h: the
// block falls due while the run, withdrawn, still holds the host.
const reopenTwoHolds = `apiVersion: riposte/v1
name: reopentwo
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
`

// firewallRefuses is the firewall's answer to every call while it refuses
// them (the connector's error for an HTTP 403).
var firewallRefuses = temporal.NewNonRetryableApplicationError("panos: HTTP 403 Forbidden", "VendorError", nil)

// A withdrawn run whose release of a hold failed (the firewall refused the
// unblock at contain_for) and that a record reopening its finding then
// reached continued as a new run handing over only the holds it had not
// released: the failed one was dropped. The new run did not list it, its
// rollback (the API plans the latest run) did not undo it, and the
// withdrawn run, continued, is not rolled back: the block stayed in place
// with nothing in Riposte owning it. It is handed over as a hold whose
// release failed: the new run lists it, does not release it again, and
// its rollback undoes it. Histories recorded before replay as they ran:
// nothing handed over.
func TestReopenHandsOverAHoldWhoseReleaseFailed(t *testing.T) {
	const t0 = int64(1763458937000)
	for _, legacy := range []bool{false, true} {
		h, _ := outcomeHarness(t, false)
		h.action("panos.block_ip", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
		h.action("panos.unblock_ip", func(context.Context, catalog.Call) (map[string]any, error) { return nil, firewallRefuses })
		undo := &undoCalls{}
		h.action("defender.unisolate_machine", undo.fn(map[string]any{}))
		if legacy {
			h.env.OnGetVersion("reopen-failed-release", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		d := map[string]any{"time": t0, "finding_info": map[string]any{"uid": "f-1"}, "device": map[string]any{"hostname": "fin-ws-042"}}
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+1_800_000, "withdrawn")))
		}, 30*time.Minute)
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+7_200_000, "active")))
		}, 2*time.Hour)
		c := compileYAML(t, reopenTwoHolds)
		h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: d, Rev: workflows.LatestRev})
		var can *workflow.ContinueAsNewError
		if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
			t.Fatalf("legacy %v: err = %v, want the run continued as new", legacy, err)
		}
		var next workflows.Input
		if err := decodeInput(can, &next); err != nil {
			t.Fatal(err)
		}
		if legacy {
			if len(next.Inherited) != 1 || next.Inherited[0].Step != "isolate" {
				t.Errorf("recorded before: inherited %+v, want the isolation's hold only, as it ran", next.Inherited)
			}
			continue
		}
		var failed *workflows.InheritedHold
		for i, ih := range next.Inherited {
			if ih.Step == "block" {
				failed = &next.Inherited[i]
			}
		}
		// Its targets are not in Targets: a worker of an earlier release
		// (which would release them again) skips a hold without targets.
		if len(next.Inherited) != 2 || failed == nil || len(failed.Targets) != 0 {
			t.Fatalf("inherited %+v; want the isolation's hold and the block's, whose release failed", next.Inherited)
		}

		// The new run: the firewall still refuses, so its block step does
		// not take the address over.
		h2, _ := outcomeHarness(t, false)
		h2.action("panos.block_ip", func(context.Context, catalog.Call) (map[string]any, error) { return nil, firewallRefuses })
		var unblocks int
		h2.action("panos.unblock_ip", func(context.Context, catalog.Call) (map[string]any, error) { unblocks++; return map[string]any{}, nil })
		h2.action("defender.unisolate_machine", undo.fn(map[string]any{}))
		next.ReopenedFrom = "run-a"
		h2.env.ExecuteWorkflow(workflows.PlaybookWorkflow, next)
		res, err := resultOf(h2)
		if err != nil && res == nil {
			t.Fatal(err)
		}
		if unblocks != 0 {
			t.Errorf("the new run unblocked %d time(s): a hold whose release failed is not released again by the run (its rollback undoes it)", unblocks)
		}
		var hold *workflows.Hold
		for i := range res.Holds {
			if res.Holds[i].Step == workflows.InheritedPrefix+"block" {
				hold = &res.Holds[i]
			}
		}
		if hold == nil || hold.InheritedFrom != "run-a" || hold.ReleasedAt == nil || hold.Error == "" ||
			len(hold.Targets) != 1 || hold.Targets[0]["ip"] != "203.0.113.7" {
			t.Fatalf("new run's holds %+v; want the block listed, inherited from run-a, its release failed, on 203.0.113.7", res.Holds)
		}
		// The API plans an inherited hold whose release failed at any time
		// (internal/api inheritedToUndo).
		plan := workflows.InheritedUndoCallsOf(res.Steps, res.Holds, func(h workflows.Hold) bool { return h.ReleasedAt != nil && h.Error != "" }, compileCatalog())
		if len(plan) != 1 || plan[0].Undo != "panos.unblock_ip" || plan[0].Params["ip"] != "203.0.113.7" {
			t.Errorf("rollback plan %+v; want the unblock of 203.0.113.7", plan)
		}
	}
}

// A rollback whose mark the withdrawn run took after the release failed
// planned that hold too (a hold whose release failed is still in place):
// it is not handed over, or the rollback of the run it continues as would
// undo it a second time, lifting a block put back since.
func TestReopenDoesNotHandOverAFailedReleaseARollbackPlanned(t *testing.T) {
	const t0 = int64(1763458937000)
	h, _ := outcomeHarness(t, false)
	h.action("panos.block_ip", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("panos.unblock_ip", func(context.Context, catalog.Call) (map[string]any, error) { return nil, firewallRefuses })
	h.action("defender.unisolate_machine", (&undoCalls{}).fn(map[string]any{}))
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
		return workflows.RollbackOutcome{Completed: true}, nil
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
	for _, ih := range next.Inherited {
		if ih.Step == "block" {
			t.Errorf("inherited %+v; want the block left out: the rollback planned it", next.Inherited)
		}
	}
}
