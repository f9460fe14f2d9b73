package workflows_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// holdThenGatedContain holds h1 (automatic, contain_for) and then waits
// for UBOB to approve isolating h2.
const holdThenGatedContain = `apiVersion: riposte/v1
name: holdthengate
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "h1"}
    approval: auto
    contain_for: 4h
  - id: contain
    action: crowdstrike.contain_host
    needs: [isolate]
    with: {hostname: "h2"}
    approval: {approvers: {users: [UBOB]}, timeout: 6h, on_timeout: deny}
`

// README, Undo: "riposte rollback RUN runs the undo of every succeeded
// contain step of a run"; "a run still holding containment when it is
// rolled back records it itself". Rolled back while a later contain step
// still waits at its gate, the run kept the gate open, and an approval
// after the rollback contained h2 (reproduced on riposte dev: run
// hold-then-gate rolled back by U0SOCLEAD1, then its isolate approved and
// run, outcome "contained", still shown rolled back; a second rollback is
// answered with the first, which undid only the block). A security team
// rolling a run back expects its containment to stop, not to resume at
// the next click.
//
// Now the rollback closes the pending contain gate as withdrawn (via
// rollback) and the step is skipped; a read or notify step would still
// run.
func TestRolledBackRunDoesNotContainAfterwards(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	var contained []string
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("crowdstrike.contain_host", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		contained = append(contained, call.Params["hostname"].(string))
		return map[string]any{}, nil
	})
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalRolledBack, h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x"}))
	}, 10*time.Minute)
	var vote string
	h.vote(20*time.Minute, workflows.Decision{GateID: "contain", Approve: true, User: "UBOB", Reason: "go"}, &vote)
	res, err := h.run(compileYAML(t, holdThenGatedContain), det)
	if err != nil {
		t.Fatal(err)
	}
	if res.RolledBack == nil {
		t.Fatalf("the run did not record its rollback: %+v", res)
	}
	var st string
	for _, s := range res.Steps {
		if s.ID == "contain" {
			st = s.Status
		}
	}
	var gate *workflows.Gate
	for _, s := range res.Steps {
		if s.ID == "contain" {
			gate = s.Gate
		}
	}
	if st != playbook.StatusSkipped || gate == nil || gate.State != workflows.GateWithdrawn || gate.Decision == nil || gate.Decision.Via != workflows.ViaRollback {
		t.Errorf("step contain %s, gate %+v; want skipped, its gate closed via rollback", st, gate)
	}
	if slices.Contains(contained, "h2") || st == playbook.StatusSucceeded {
		t.Errorf("rolled back by UALICE at 10m, the run still contained h2 at 20m on UBOB's approval (step contain %s, vote %q, outcome %s %s)",
			st, vote, res.Outcome, res.OutcomeDetail)
	}
}
