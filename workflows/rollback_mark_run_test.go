package workflows_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// A rolled_back mark sealed for another run of the workflow id (a copy
// from the history of the run a reopened finding's new run replaced) is
// refused: the run keeps its holds and releases them at contain_for. One
// sealed for this run is taken, as is one sealed without a run (an API of
// an earlier release, or a worker of one polls).
func TestRolledBackMarkSealedForAnotherRunRefused(t *testing.T) {
	succeeded := map[string]workflows.RollbackOutcome{
		"r1": {Completed: true, Undo: []workflows.UndoResult{undone("isolate", "b", "succeeded"), undone("isolate", "a", "succeeded")}},
	}
	for _, tc := range []struct {
		name  string
		runID string
		taken bool
	}{
		{"sealed for another run", "earlier-run", false},
		{"sealed for this run", testRunID, true},
		{"sealed without a run", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1", RunID: tc.runID}
			res, released, asked := rollbackHarness(t, []workflows.RolledBack{mark}, succeeded)
			if taken := res.RolledBack != nil; taken != tc.taken {
				t.Fatalf("mark taken: %v, want %v (rolled_back %+v)", taken, tc.taken, res.RolledBack)
			}
			if tc.taken {
				if !slices.Equal(asked, []string{"rollback:x/r1"}) || len(released) != 0 {
					t.Errorf("outcomes asked %q, released by the run %v: want the rollback's outcome read and nothing released twice", asked, released)
				}
				return
			}
			if len(asked) != 0 || released["a"] != time.Hour || released["b"] != time.Hour {
				t.Errorf("outcomes asked %q, released by the run %v: want nothing asked and both hosts released at contain_for (1h)", asked, released)
			}
			if len(res.Holds) != 1 || res.Holds[0].Error != "" || len(res.Holds[0].Extensions) != 0 {
				t.Errorf("holds %+v: want the hold released by its timer alone", res.Holds)
			}
		})
	}
}

// The run id is covered by the seal: a mark sealed for another run with
// its run id changed to this run's does not verify.
func TestRolledBackMarkRunIDChangedIsForged(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	var asked []string
	h.action("crowdstrike.contain_host", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.env.RegisterActivityWithOptions(func(_ context.Context, in workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
		asked = append(asked, in.RunID)
		return workflows.RollbackOutcome{Completed: true}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityRollbackOutcome})
	h.env.RegisterDelayedCallback(func() {
		moved := h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1", RunID: "earlier-run"})
		moved.RunID = testRunID
		h.env.SignalWorkflow(workflows.SignalRolledBack, moved)
		stripped := h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r2", RunID: "earlier-run"})
		stripped.RunID = ""
		h.env.SignalWorkflow(workflows.SignalRolledBack, stripped)
	}, 10*time.Minute)
	res, err := h.run(compileYAML(t, holdTwoHosts), det)
	if err != nil {
		t.Fatal(err)
	}
	if res.RolledBack != nil || len(asked) != 0 {
		t.Errorf("rolled_back %+v, outcomes asked %q: want both marks refused as forged", res.RolledBack, asked)
	}
	h.audited("audit: rolled_back signal refused", "forged", "forged")
}
