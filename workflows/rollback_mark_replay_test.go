package workflows_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

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
