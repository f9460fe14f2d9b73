package workflows_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// holdTwoHosts isolates two hosts for an hour.
const holdTwoHosts = `apiVersion: riposte/v1
name: holdtwo
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: crowdstrike.contain_host
    for_each: '${{ ["a", "b"] }}'
    with: {hostname: "${{ item }}"}
    approval: auto
    contain_for: 1h
`

// rollbackHarness runs holdTwoHosts, rolled back at 10m by the marks
// given (sent in order, 5 minutes apart), each rollback run ending as
// outcomes[its run id] says. It returns the result and, per host, when
// the run itself released it.
func rollbackHarness(t *testing.T, marks []workflows.RolledBack, outcomes map[string]workflows.RollbackOutcome) (*workflows.Result, map[string]time.Duration, []string) {
	t.Helper()
	return rollbackHarnessFunc(t, holdTwoHosts, marks, func(in workflows.RollbackOutcomeInput, _ time.Duration) (workflows.RollbackOutcome, error) {
		return outcomes[in.RunID], nil
	})
}

// rollbackHarnessFunc is rollbackHarness running playbook src, with each
// rollback's outcome answered by outcome, given how long after the run's
// start it is asked (an error is retried, as Temporal retries the activity).
func rollbackHarnessFunc(t *testing.T, src string, marks []workflows.RolledBack, outcome func(workflows.RollbackOutcomeInput, time.Duration) (workflows.RollbackOutcome, error)) (*workflows.Result, map[string]time.Duration, []string) {
	t.Helper()
	h, _ := outcomeHarness(t, false)
	start := h.env.Now()
	var mu sync.Mutex
	released := map[string]time.Duration{}
	var asked []string
	h.action("crowdstrike.contain_host", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		return map[string]any{}, nil
	})
	h.action("crowdstrike.lift_containment", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		released[call.Params["hostname"].(string)] = h.env.Now().Sub(start).Round(time.Minute)
		return map[string]any{}, nil
	})
	h.env.RegisterActivityWithOptions(func(_ context.Context, in workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
		mu.Lock()
		asked = append(asked, in.WorkflowID+"/"+in.RunID)
		mu.Unlock()
		return outcome(in, h.env.Now().Sub(start))
	}, activity.RegisterOptions{Name: workflows.ActivityRollbackOutcome})
	for i, m := range marks {
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalRolledBack, h.sealRolledBack(m))
		}, 10*time.Minute+time.Duration(i)*5*time.Minute)
	}
	res, err := h.run(compileYAML(t, src), det)
	if err != nil {
		t.Fatal(err)
	}
	return res, released, asked
}

func undone(step, host, status string) workflows.UndoResult {
	return workflows.UndoResult{UndoCall: workflows.UndoCall{Step: step, Action: "crowdstrike.contain_host", Undo: "crowdstrike.lift_containment",
		Params: map[string]any{"hostname": host}}, Status: status}
}

// README, Undo: a rollback's mark releases the run's holds when the
// rollback starts; "if the rollback fails, the run holds again what it did
// not undo, and releases it at contain_for". Before, a failed rollback left
// both hosts isolated with no release time, and the run said rolled back.
func TestFailedRollbackHoldsAgainWhatItDidNotUndo(t *testing.T) {
	mark := workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}
	res, released, asked := rollbackHarness(t, []workflows.RolledBack{mark}, map[string]workflows.RollbackOutcome{
		"r1": {Error: "1 of 2 undo actions failed", Undo: []workflows.UndoResult{undone("isolate", "b", "succeeded"), undone("isolate", "a", "failed")}},
	})
	if !slices.Equal(asked, []string{"rollback:x/r1"}) {
		t.Errorf("rollback outcomes asked: %q, want the mark's rollback run once", asked)
	}
	if got, ok := released["a"]; !ok || got != time.Hour {
		t.Errorf("host a, which the rollback failed to undo, released at %v (released: %v); want at contain_for (1h)", got, ok)
	}
	if got, ok := released["b"]; ok {
		t.Errorf("host b, which the rollback undid, released again by the run at %v", got)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil || res.Holds[0].Error != "" {
		t.Fatalf("holds %+v", res.Holds)
	}
	if ext := strings.Join(res.Holds[0].Extensions, " | "); !strings.Contains(ext, "not released: rollback:x (UALICE) failed (1 of 2 undo actions failed); 1 target(s) held again") ||
		strings.Contains(ext, "released by rollback") {
		t.Errorf("hold notes %q: want the failed rollback named, and no 'released by rollback' left (a retried rollback would undo it again)", ext)
	}
	if res.RolledBack == nil || !strings.Contains(res.RolledBack.Failed, "1 of 2 undo actions failed") || !strings.Contains(res.RolledBack.Failed, "held again until contain_for: isolate") {
		t.Errorf("rolled_back %+v: want the failure recorded", res.RolledBack)
	}
	if got := res.EndedAt.Sub(res.StartedAt).Round(time.Minute); got != time.Hour {
		t.Errorf("run ended after %v, want at the release (1h)", got)
	}
}

// A rollback that succeeded leaves the holds released; the run ends once
// it knows, without releasing anything itself.
func TestSucceededRollbackLeavesHoldsReleased(t *testing.T) {
	mark := workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}
	res, released, asked := rollbackHarness(t, []workflows.RolledBack{mark}, map[string]workflows.RollbackOutcome{
		"r1": {Completed: true, Undo: []workflows.UndoResult{undone("isolate", "b", "succeeded"), undone("isolate", "a", "succeeded")}},
	})
	if len(asked) != 1 || len(released) != 0 {
		t.Errorf("asked %q, released by the run %v: want one wait and no release", asked, released)
	}
	if res.RolledBack == nil || res.RolledBack.Failed != "" || res.Holds[0].ReleasedAt == nil {
		t.Errorf("rolled_back %+v, holds %+v", res.RolledBack, res.Holds)
	}
	if got := res.EndedAt.Sub(res.StartedAt).Round(time.Minute); got != 10*time.Minute {
		t.Errorf("run ended after %v, want when rolled back (10m)", got)
	}
}

// A rollback that ended without undoing anything (terminated, refused,
// gone) holds everything again.
func TestRollbackEndedWithoutResultsHoldsAllAgain(t *testing.T) {
	mark := workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}
	res, released, _ := rollbackHarness(t, []workflows.RolledBack{mark}, map[string]workflows.RollbackOutcome{"r1": {Error: "terminated"}})
	if released["a"] != time.Hour || released["b"] != time.Hour {
		t.Errorf("released %v, want both hosts at 1h", released)
	}
	if res.RolledBack == nil || !strings.HasPrefix(res.RolledBack.Failed, "terminated") {
		t.Errorf("rolled_back %+v", res.RolledBack)
	}
}

// After a failed rollback, a retry's mark (a new rollback run) is taken
// and waited on; the failed one's mark sent again is not.
func TestRollbackRetriedAfterFailure(t *testing.T) {
	first := workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}
	again := first // the same mark read back and sent again
	retry := workflows.RolledBack{By: "UBOB", RollbackID: "rollback:x", RollbackRunID: "r2"}
	res, released, asked := rollbackHarness(t, []workflows.RolledBack{first, again, retry}, map[string]workflows.RollbackOutcome{
		"r1": {Error: "2 of 2 undo actions failed", Undo: []workflows.UndoResult{undone("isolate", "b", "failed"), undone("isolate", "a", "failed")}},
		"r2": {Completed: true, Undo: []workflows.UndoResult{undone("isolate", "b", "succeeded"), undone("isolate", "a", "succeeded")}},
	})
	if !slices.Equal(asked, []string{"rollback:x/r1", "rollback:x/r2"}) {
		t.Errorf("rollback outcomes asked: %q, want r1 then r2", asked)
	}
	if len(released) != 0 {
		t.Errorf("the run released %v itself after the retry undid everything", released)
	}
	if res.RolledBack == nil || res.RolledBack.By != "UBOB" || res.RolledBack.Failed != "" {
		t.Errorf("rolled_back %+v: want the retry's", res.RolledBack)
	}
	if st := res.Steps[0]; st.Status != playbook.StatusSucceeded {
		t.Errorf("step %+v", st)
	}
}

// A mark sent before marks named their rollback run (or by an API of an
// earlier release) is not waited on: the run ends as it did.
func TestRollbackMarkWithoutRunIsNotWaitedOn(t *testing.T) {
	mark := workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x"}
	res, released, asked := rollbackHarness(t, []workflows.RolledBack{mark}, nil)
	if len(asked) != 0 || len(released) != 0 {
		t.Errorf("asked %q, released %v", asked, released)
	}
	if got := res.EndedAt.Sub(res.StartedAt).Round(time.Minute); got != 10*time.Minute {
		t.Errorf("run ended after %v, want 10m", got)
	}
}

// While the run holds again what a failed rollback did not undo, a retried
// rollback plans only that: the target the failed one undid is not lifted
// a second time (it may have been isolated again by hand since).
func TestRetriedRollbackPlansOnlyWhatIsStillHeld(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.action("crowdstrike.contain_host", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
		return workflows.RollbackOutcome{Error: "1 of 2 undo actions failed", Undo: []workflows.UndoResult{undone("isolate", "b", "succeeded"), undone("isolate", "a", "failed")}}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityRollbackOutcome})
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalRolledBack, h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}))
	}, 10*time.Minute)
	var plan []workflows.UndoCall
	h.env.RegisterDelayedCallback(func() {
		var steps []workflows.StepResult
		var holds []workflows.Hold
		if v, err := h.env.QueryWorkflow(workflows.QuerySteps); err != nil || v.Get(&steps) != nil {
			t.Errorf("query steps: %v", err)
		}
		if v, err := h.env.QueryWorkflow(workflows.QueryHolds); err != nil || v.Get(&holds) != nil {
			t.Errorf("query holds: %v", err)
		}
		plan = workflows.UndoCalls(steps, workflows.HoldsForRollback(holds), compileCatalog())
	}, 30*time.Minute)
	if _, err := h.run(compileYAML(t, holdTwoHosts), det); err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 || plan[0].Params["hostname"] != "a" {
		t.Errorf("a retried rollback at 30m would undo %+v; want host a alone (the failed rollback undid b)", plan)
	}
}
