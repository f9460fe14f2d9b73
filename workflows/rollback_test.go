package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// A rollback of a simulated run (dry run, shadow) that reaches the workflow
// anyway simulates its undo calls: nothing was contained, so nothing real
// may be lifted.
func TestRollbackOfSimulatedRunSimulatesItsUndos(t *testing.T) {
	for _, dry := range []bool{false, true} {
		h := newHarness(t)
		var mu sync.Mutex
		var got []catalog.Call
		h.action("defender.unisolate_machine", func(_ context.Context, call catalog.Call) (map[string]any, error) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, call)
			return map[string]any{}, nil
		})
		in := workflows.RollbackInput{WorkflowID: "w1", Requester: "USOC", Via: workflows.ViaAPI, DryRun: dry,
			Undo: []workflows.UndoCall{{Step: "isolate", Action: "defender.isolate_machine", Undo: "defender.unisolate_machine", Index: -1, Params: map[string]any{"hostname": "h1"}}}}
		in.Seal = h.keys.Sign(workflows.RollbackClaim(in), time.Unix(1700000000, 0))
		h.env.ExecuteWorkflow(workflows.RollbackWorkflow, in)
		if err := h.env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].DryRun != dry {
			t.Errorf("dry_run=%v: undo calls %+v, want one with DryRun %v", dry, got, dry)
		}
	}
}

// The rollback seal covers dry_run: a sealed simulated rollback cannot be
// turned into a real one, and seals made before the field existed (a real
// rollback) still verify.
func TestRollbackSealCoversDryRun(t *testing.T) {
	keys := testKeys(t)
	at := time.Unix(1700000000, 0)
	real := workflows.RollbackInput{WorkflowID: "w1", RunID: "r1", Requester: "USOC", Via: workflows.ViaAPI}
	if c := workflows.RollbackClaim(real); c.Decision != "rollback" {
		t.Errorf("claim of a real rollback = %+v: its Decision must stay \"rollback\" so earlier seals verify", c)
	}
	sim := real
	sim.DryRun = true
	sim.Seal = keys.Sign(workflows.RollbackClaim(sim), at)
	flipped := sim
	flipped.DryRun = false
	if err := keys.Verify(workflows.RollbackClaim(flipped), flipped.Seal); err == nil {
		t.Error("a simulated rollback's seal verifies with dry_run cleared")
	}
	if err := keys.Verify(workflows.RollbackClaim(sim), sim.Seal); err != nil {
		t.Errorf("simulated rollback's own seal: %v", err)
	}
}
