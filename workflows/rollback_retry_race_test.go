package workflows_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// A retry's mark that arrives while the run still waits for the outcome of
// the rollback before it (the outcome activity retrying: the server was
// unreachable, the worker that ran it was lost and its heartbeat timed out)
// must not be lost. The API allows the retry as soon as the first rollback
// run has failed; the run learns that only when its activity answers.
// Before the fix the run dropped the retry's mark (r.rolledBack was set and
// not yet Failed), then held both hosts again when the first outcome came
// and lifted them a second time at contain_for — though the retry had
// lifted them already (and an analyst may have isolated a host again
// since), while GET /v1/runs and /v1/holds showed containment in place.
func TestRetryMarkWhileFirstOutcomePendingIsTaken(t *testing.T) {
	first := workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}
	retry := workflows.RolledBack{By: "UBOB", RollbackID: "rollback:x", RollbackRunID: "r2"} // at 15m
	res, released, asked := rollbackHarnessFunc(t, holdTwoHosts, []workflows.RolledBack{first, retry}, func(in workflows.RollbackOutcomeInput, at time.Duration) (workflows.RollbackOutcome, error) {
		switch in.RunID {
		case "r1":
			if at < 16*time.Minute {
				return workflows.RollbackOutcome{}, errors.New("the frontend is unreachable")
			}
			return workflows.RollbackOutcome{Error: "2 of 2 undo actions failed", Undo: []workflows.UndoResult{undone("isolate", "b", "failed"), undone("isolate", "a", "failed")}}, nil
		case "r2":
			return workflows.RollbackOutcome{Completed: true, Undo: []workflows.UndoResult{undone("isolate", "b", "succeeded"), undone("isolate", "a", "succeeded")}}, nil
		}
		return workflows.RollbackOutcome{}, errors.New("unknown rollback run " + in.RunID)
	})
	if !slices.Contains(asked, "rollback:x/r2") {
		t.Errorf("rollback outcomes asked: %q: the retry's mark was dropped", asked)
	}
	if len(released) != 0 {
		t.Errorf("the run lifted %v itself, after the retry had undone both hosts", released)
	}
	if res.RolledBack == nil || res.RolledBack.By != "UBOB" || res.RolledBack.Failed != "" {
		t.Errorf("rolled_back %+v: want the retry's, succeeded", res.RolledBack)
	}
	if ext := strings.Join(res.Holds[0].Extensions, " | "); !strings.Contains(ext, "released by rollback rollback:x (UBOB)") {
		t.Errorf("hold notes %q: want the retry's release", ext)
	}
}

// holdTwoSteps isolates host a, then host b, each for an hour.
const holdTwoSteps = `apiVersion: riposte/v1
name: holdtwosteps
version: 1
trigger: {when: "true"}
steps:
  - id: isolate_a
    action: crowdstrike.contain_host
    with: {hostname: a}
    approval: auto
    contain_for: 1h
  - id: isolate_b
    action: crowdstrike.contain_host
    needs: [isolate_a]
    with: {hostname: b}
    approval: auto
    contain_for: 1h
`

// A rollback that succeeded releases only what it undid. The API plans a
// rollback from the run's steps as it reads them, then starts it and
// sends the mark; a contain step that ends in between (isolate_b here) has
// a hold when the mark arrives, so the mark releases it, but the rollback
// never undoes it. The run trusts any completed rollback (awaitRollback
// re-arms holds only when it failed), so host b stays isolated with no
// release time and the run ends "rolled back" — the very state
// rollback-outcome-awaited was meant to end — and a later rollback is
// answered with the completed one (isolate_b ended before it started).
func TestCompletedRollbackReleasesOnlyWhatItUndid(t *testing.T) {
	mark := workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}
	res, released, _ := rollbackHarnessFunc(t, holdTwoSteps, []workflows.RolledBack{mark}, func(workflows.RollbackOutcomeInput, time.Duration) (workflows.RollbackOutcome, error) {
		return workflows.RollbackOutcome{Completed: true, Undo: []workflows.UndoResult{undone("isolate_a", "a", "succeeded")}}, nil
	})
	if _, ok := released["a"]; ok {
		t.Errorf("host a, which the rollback undid, released again by the run")
	}
	if got, ok := released["b"]; !ok || got != time.Hour {
		t.Errorf("host b, which the completed rollback never undid, released at %v (released: %v); want at contain_for (1h)", got, ok)
	}
	for _, h := range res.Holds {
		if h.Step == "isolate_b" && strings.HasPrefix(strings.Join(h.Extensions, " | "), "released by rollback") {
			t.Errorf("hold %s notes %q: released by a rollback that did not undo it", h.Step, h.Extensions)
		}
	}
}

// A failed rollback that undid one step's hold but not the other's holds
// again only the other; the hold it undid says so, and a retry does not
// plan it again (HoldsForRollback reads only the mark's own note as still
// in place).
func TestFailedRollbackLeavesWhatItUndidReleased(t *testing.T) {
	mark := workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}
	res, released, _ := rollbackHarnessFunc(t, holdTwoSteps, []workflows.RolledBack{mark}, func(workflows.RollbackOutcomeInput, time.Duration) (workflows.RollbackOutcome, error) {
		return workflows.RollbackOutcome{Error: "1 of 2 undo actions failed", Undo: []workflows.UndoResult{undone("isolate_b", "b", "failed"), undone("isolate_a", "a", "succeeded")}}, nil
	})
	if _, ok := released["a"]; ok || released["b"] != time.Hour {
		t.Errorf("released by the run %v: want b alone, at 1h", released)
	}
	for _, h := range workflows.HoldsForRollback(res.Holds) {
		if h.Step == "isolate_a" && (h.ReleasedAt == nil || !slices.Contains(h.Extensions, "undone by rollback:x (UALICE)")) {
			t.Errorf("hold %s as a retry plans with it: released %v, notes %q; want released, undone by rollback:x", h.Step, h.ReleasedAt, h.Extensions)
		}
	}
}

// A hold whose contain_for release is under way when the mark arrives
// (its undo being retried) is released by the run, not by the rollback:
// a failed rollback does not hold it again, and the run ends once the
// release is done.
func TestFailedRollbackLeavesAReleaseUnderWay(t *testing.T) {
	mark := workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}
	h, _ := outcomeHarness(t, false)
	start := h.env.Now()
	lifts := 0
	h.action("crowdstrike.contain_host", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) {
		lifts++
		if lifts == 1 {
			return nil, temporal.NewApplicationError("503 from the vendor", "Unavailable")
		}
		return map[string]any{}, nil
	})
	asked := 0
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
		if asked++; asked == 1 {
			return workflows.RollbackOutcome{}, errors.New("the frontend is unreachable") // answered after the release
		}
		return workflows.RollbackOutcome{Error: "1 of 1 undo actions failed", Undo: []workflows.UndoResult{undone("isolate_a", "a", "failed")}}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityRollbackOutcome})
	// The release starts at 1h, fails, and is retried 5 s later; the
	// mark arrives in between, and the rollback's outcome (asked again 5 s
	// after the mark) once the release is done.
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalRolledBack, h.sealRolledBack(mark))
	}, time.Hour+2*time.Second)
	src := strings.Replace(holdTwoSteps, "  - id: isolate_b\n    action: crowdstrike.contain_host\n    needs: [isolate_a]\n    with: {hostname: b}\n    approval: auto\n    contain_for: 1h\n", "", 1)
	res, err := h.run(compileYAML(t, src), det)
	if err != nil {
		t.Fatal(err)
	}
	if lifts != 2 || len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil {
		t.Fatalf("lifts %d, holds %+v: want the release done by the run", lifts, res.Holds)
	}
	if got := res.EndedAt.Sub(start).Round(time.Minute); got != time.Hour {
		t.Errorf("run ended after %v, want once the release was done (1h)", got)
	}
}
