package api

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// A contain call whose result is unknown (it timed out in its action, or
// failed after its request may have reached the vendor) is not undone by
// a rollback (workflows.UncertainCall: it may be someone else's
// containment), but the 409 no longer says the run contained nothing: it
// names the step and says the containment may be in place.
func TestRollbackPlanNamesUncertainContainment(t *testing.T) {
	for name, st := range map[string]workflows.StepResult{
		"timed out": {ID: "isolate", Action: "defender.isolate_machine", Status: playbook.StatusTimedOut, Error: "timed out after 1s per attempt (1 attempts)"},
		"may have reached": {ID: "isolate", Action: "defender.isolate_machine", Status: playbook.StatusFailed,
			Error: "the POST " + catalog.MayHaveReached + ", so it is not retried"},
		"an item timed out": {ID: "isolate", Action: "defender.isolate_machine", Status: playbook.StatusTimedOut,
			Items: []workflows.ItemResult{{Index: 0, Status: playbook.StatusTimedOut, Error: "timed out"}}},
	} {
		d := rollbackRun(playbook.ModeLive, false)
		d.Steps = []workflows.StepResult{st}
		d.Holds = nil
		undo, refusal := rollbackPlan(d, activities.Catalog())
		if len(undo) != 0 || !strings.Contains(refusal, "step isolate") || !strings.Contains(refusal, "may be in place") {
			t.Errorf("%s: rollbackPlan = %+v, refusal %q; want no undo and the step named as possibly in place", name, undo, refusal)
		}
	}
	// A gate that timed out sent nothing: nothing may be in place.
	d := rollbackRun(playbook.ModeLive, false)
	d.Steps = []workflows.StepResult{{ID: "isolate", Action: "defender.isolate_machine", Status: playbook.StatusTimedOut,
		Gate: &workflows.Gate{State: workflows.GateTimedOut}}}
	d.Holds = nil
	if _, refusal := rollbackPlan(d, activities.Catalog()); strings.Contains(refusal, "may be in place") {
		t.Errorf("a gate that timed out: refusal %q, want no claim that containment may be in place", refusal)
	}
}
