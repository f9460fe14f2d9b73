package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// A run that continues a withdrawn one (a finding its detector reopened)
// releases the holds it inherited when they fall due. Cancelled before
// then, it releases nothing: no code of an ended run can. Its hold's note
// said "containment stays in place (riposte rollback undoes it)" although
// a rollback left inherited holds in place ("inherited_holds_left"): the
// host stayed isolated for good. The note names the run the hold was
// inherited from, and the rollback plan of the ended run undoes it
// (workflows.InheritedUndoCallsOf, which the API adds once the run has
// ended).
func TestCancelledContinuedRunLeavesInheritedHoldsToItsRollback(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	// Someone else's isolation: the inherited hold is not taken over.
	h.action("defender.isolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		return map[string]any{"already": true, "preexisting": true}, nil
	})
	undo := &undoCalls{}
	h.action("defender.unisolate_machine", undo.fn(map[string]any{}))
	c := compileYAML(t, reopenPlaybook)
	until := h.env.Now().Add(4 * time.Hour)
	in := workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, ReopenedFrom: "run-a",
		Inherited: []workflows.InheritedHold{{Step: "isolate", Undo: "defender.unisolate_machine", Until: until,
			Targets: []map[string]any{{"hostname": "fin-ws-042"}, {"hostname": "fin-ws-043"}}}}}
	h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, 10*time.Minute)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, in)
	res, err := resultOf(h)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != workflows.RunCanceled || len(undo.steps) != 0 {
		t.Fatalf("status %s, undo calls %v; want cancelled with nothing released", res.Status, undo.steps)
	}
	var inh *workflows.Hold
	for i := range res.Holds {
		if res.Holds[i].InheritedFrom == "run-a" {
			inh = &res.Holds[i]
		}
	}
	if inh == nil || inh.ReleasedAt != nil {
		t.Fatalf("holds %+v; want the hold inherited from run-a, not released", res.Holds)
	}
	note := strings.Join(inh.Extensions, " | ")
	if !strings.HasPrefix(note, "not released: the run was cancelled") || !strings.Contains(note, "inherited from run run-a") ||
		!strings.Contains(note, "riposte rollback undoes it") {
		t.Errorf("inherited hold's note %q; want it not released, inherited from run run-a, undone by riposte rollback", note)
	}
	plan := workflows.InheritedUndoCallsOf(res.Steps, res.Holds, nil, compileCatalog())
	if len(plan) != 2 || plan[0].Step != "inherited:isolate" || plan[0].Params["hostname"] != "fin-ws-042" || plan[1].Params["hostname"] != "fin-ws-043" ||
		plan[0].Undo != "defender.unisolate_machine" || plan[0].Action != "defender.isolate_machine" || plan[1].Index != 1 {
		t.Errorf("rollback plan of the inherited hold %+v; want both hosts unisolated", plan)
	}
}
