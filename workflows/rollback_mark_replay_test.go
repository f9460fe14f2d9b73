package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// A rolled_back mark read back from the run's history and sent again with
// another rollback_run_id must not be taken. The seal covers the rollback
// workflow id (rollback:<id>) but not its run, and the run takes a second
// mark once the first rollback has failed (a retry). So anyone who may
// signal the run (no signing key needed) can copy the failed rollback's
// mark and point rollback_run_id at another run of rollback:<id> — e.g.
// the rollback that succeeded for an earlier run of the same finding (a
// reopened finding reuses the workflow id; rollback:<id> keeps that run
// for the namespace's retention). The run then reads "completed" with undo
// results for its step names, leaves its re-armed holds released for good
// and ends "rolled back": both hosts stay isolated with no release time,
// the very state rollback-outcome-awaited was meant to end. A retry's
// genuine mark carries a new seal; a seal already received is a replay.
func TestReplayedRollbackMarkWithAnotherRunIsRefused(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	start := h.env.Now()
	released := map[string]time.Duration{}
	var asked []string
	h.action("crowdstrike.contain_host", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("crowdstrike.lift_containment", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		released[call.Params["hostname"].(string)] = h.env.Now().Sub(start).Round(time.Minute)
		return map[string]any{}, nil
	})
	h.env.RegisterActivityWithOptions(func(_ context.Context, in workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
		asked = append(asked, in.RunID)
		if in.RunID == "r0" { // an earlier run's rollback, which succeeded
			return workflows.RollbackOutcome{Completed: true, Undo: []workflows.UndoResult{undone("isolate", "b", "succeeded"), undone("isolate", "a", "succeeded")}}, nil
		}
		return workflows.RollbackOutcome{Error: "2 of 2 undo actions failed", Undo: []workflows.UndoResult{undone("isolate", "b", "failed"), undone("isolate", "a", "failed")}}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityRollbackOutcome})
	var first workflows.RolledBack
	h.env.RegisterDelayedCallback(func() {
		first = h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"})
		h.env.SignalWorkflow(workflows.SignalRolledBack, first)
	}, 10*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		replayed := first // its seal as read from the history
		replayed.RollbackRunID = "r0"
		h.env.SignalWorkflow(workflows.SignalRolledBack, replayed)
	}, 15*time.Minute)
	res, err := h.run(compileYAML(t, holdTwoHosts), det)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(asked, "r0") {
		t.Errorf("rollback outcomes asked: %q: the replayed mark was taken", asked)
	}
	if released["a"] != time.Hour || released["b"] != time.Hour {
		t.Errorf("released by the run %v: want both hosts at contain_for (1h), as the failed rollback left them", released)
	}
	if res.RolledBack == nil || res.RolledBack.RollbackRunID != "r1" || res.RolledBack.Failed == "" {
		t.Errorf("rolled_back %+v: want the failed rollback r1", res.RolledBack)
	}
	if ext := strings.Join(res.Holds[0].Extensions, " | "); strings.Contains(ext, "released by rollback") {
		t.Errorf("hold notes %q: released by a replayed mark", ext)
	}
}

// The targets a failed rollback undid (Hold.UndoneTargets) stay undone
// once the run's own release at contain_for has failed for the others.
// releasedBy reads UndoneTargets only while the hold is pending; a hold
// released with an error counts as not released at all, so a rollback
// asked after it (allowed: the first one failed) plans host b again,
// which the failed rollback lifted (and an analyst may have isolated
// again since), as well as host a, whose release failed.
func TestRollbackAfterFailedReleasePlansOnlyWhatIsStillHeld(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.action("crowdstrike.contain_host", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) {
		return nil, temporal.NewNonRetryableApplicationError("403 from the vendor", "Forbidden", nil)
	})
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
		return workflows.RollbackOutcome{Error: "1 of 2 undo actions failed", Undo: []workflows.UndoResult{undone("isolate", "b", "succeeded"), undone("isolate", "a", "failed")}}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityRollbackOutcome})
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalRolledBack, h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}))
	}, 10*time.Minute)
	res, err := h.run(compileYAML(t, holdTwoHosts), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil || res.Holds[0].Error == "" {
		t.Fatalf("holds %+v: want the release at contain_for failed", res.Holds)
	}
	plan := workflows.UndoCalls(res.Steps, workflows.HoldsForRollback(res.Holds), compileCatalog())
	if len(plan) != 1 || plan[0].Params["hostname"] != "a" {
		t.Errorf("a rollback after the failed release would undo %+v; want host a alone (the failed rollback undid b)", plan)
	}
}

// holdTwoHostsThenLiftA isolates hosts a and b for an hour, then lifts
// host a's containment: its first attempt fails, the second (5m later)
// succeeds.
const holdTwoHostsThenLiftA = holdTwoHosts + `  - id: lift_a
    action: crowdstrike.lift_containment
    needs: [isolate]
    with: {hostname: a}
    approval: auto
    retry: {max_attempts: 2, initial_interval: 5m}
`

// A later step (in flight when the mark arrives: a vendor retried) that
// undoes a target while the rollback's mark has the hold released (its
// outcome not yet known) is not seen by undoneBy,
// which skips released holds. When the rollback then fails, the run holds
// host a again and lifts it a second time at contain_for, though a step
// of the run lifted it already (someone may have isolated it again since:
// what undoneBy exists to prevent).
func TestFailedRollbackDoesNotHoldAgainWhatALaterStepUndid(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	start := h.env.Now()
	var mu sync.Mutex
	var releases []string
	h.action("crowdstrike.contain_host", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("crowdstrike.lift_containment", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		if call.StepID == "lift_a" && !slices.ContainsFunc(releases, func(s string) bool { return strings.HasPrefix(s, "failed") }) {
			releases = append(releases, "failed lift_a")
			return nil, errors.New("503 from the vendor")
		}
		releases = append(releases, fmt.Sprintf("%s %s at %v", call.StepID, call.Params["hostname"], h.env.Now().Sub(start).Round(time.Minute)))
		return map[string]any{}, nil
	})
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
		if h.env.Now().Sub(start) < 6*time.Minute {
			return workflows.RollbackOutcome{}, errors.New("the frontend is unreachable")
		}
		return workflows.RollbackOutcome{Error: "2 of 2 undo actions failed", Undo: []workflows.UndoResult{undone("isolate", "b", "failed"), undone("isolate", "a", "failed")}}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityRollbackOutcome})
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalRolledBack, h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}))
	}, 2*time.Minute)
	res, err := h.run(compileYAML(t, holdTwoHostsThenLiftA), det)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(releases, "lift_a a at 5m0s") {
		t.Fatalf("lift calls %q: want step lift_a to lift host a at 5m; steps %+v", releases, res.Steps)
	}
	want := []string{"failed lift_a", "lift_a a at 5m0s", "isolate.release b at 1h0m0s"}
	if !slices.Equal(releases, want) {
		t.Errorf("lift calls %q, want %q: host a lifted a second time by the run", releases, want)
	}
	if ext := strings.Join(res.Holds[0].Extensions, " | "); !strings.Contains(ext, "failed (2 of 2 undo actions failed)") {
		t.Errorf("hold notes %q: want the rollback's failure (its outcome read after lift_a)", ext)
	}
}
