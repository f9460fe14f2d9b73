package api

import (
	"strings"
	"testing"
	"time"

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

// The 409 names a contain step whose result is unknown whatever else the
// refusal says: a run whose isolate's hold was already released (its
// contain_for elapsed), or whose isolate found the host contained by
// someone else, and whose suspend timed out (the vendor may have
// suspended the user) was answered "already released" or "already in
// place before it", and the suspend that may be in place was named
// nowhere (README, Undo: "riposte rollback answers 409 naming the step
// and saying its containment may be in place").
func TestRollbackRefusalAlwaysNamesUncertainContainment(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	suspend := workflows.StepResult{ID: "suspend", Action: "okta.suspend_user", Status: playbook.StatusTimedOut,
		Params: map[string]any{"user": "j@example.com"}, Error: "timed out after 30s per attempt (1 attempts)", EndedAt: &at}
	released := rollbackRun(playbook.ModeLive, false)
	released.Steps = append(released.Steps, suspend)
	released.Holds = []workflows.Hold{{Step: "isolate", Undo: "defender.unisolate_machine", Until: at, ReleasedAt: &at}}
	pre := rollbackRun(playbook.ModeLive, false)
	pre.Steps[0].Output = map[string]any{catalog.OutputPreexisting: true, catalog.OutputAlready: true}
	pre.Steps = append(pre.Steps, suspend)
	pre.Holds = nil
	for name, d := range map[string]*RunDetail{"isolate released": released, "isolate preexisting": pre} {
		undo, refusal := rollbackPlan(d, activities.Catalog())
		if len(undo) != 0 {
			t.Fatalf("%s: undo %+v, want none (premise)", name, undo)
		}
		if !strings.Contains(refusal, "step suspend") || !strings.Contains(refusal, "may be in place") {
			t.Errorf("%s: refusal %q; want the timed-out suspend named as possibly in place", name, refusal)
		}
	}
}
