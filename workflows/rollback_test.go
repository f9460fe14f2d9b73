package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

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
		in = sealRollback(t, h, in, h.env.Now())
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

// forEachPartialPlaybook isolates two hosts and carries on when one fails.
const forEachPartialPlaybook = `apiVersion: riposte/v1
name: many
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    for_each: '${{ ["h1", "h2"] }}'
    with: {hostname: "${{ item }}"}
    approval: auto
    on_failure: continue
`

// isolateFailsOn registers a defender.isolate_machine that fails (not
// retried) for the host bad and isolates every other one.
func isolateFailsOn(h *harness, bad string) {
	h.action("defender.isolate_machine", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		if call.Params["hostname"] == bad {
			return nil, temporal.NewNonRetryableApplicationError("device not found", "NotFound", nil)
		}
		return map[string]any{"status": "isolated"}, nil
	})
}

// runForEachPartial runs forEachPartialPlaybook: h1 is isolated, h2 fails.
func runForEachPartial(t *testing.T) *workflows.Result {
	t.Helper()
	h, _ := outcomeHarness(t, false)
	isolateFailsOn(h, "h2")
	res, err := h.run(compileYAML(t, forEachPartialPlaybook), det)
	if err != nil {
		t.Fatal(err)
	}
	st := stepOf(res, "isolate")
	if st.Status != "failed" || len(st.Items) != 2 || st.Items[0].Status != "succeeded" || st.Items[1].Status != "failed" {
		t.Fatalf("isolate = %s, items %+v", st.Status, st.Items)
	}
	return res
}

// h1 was isolated though the step failed (h2 did): a rollback undoes h1.
func TestRollbackUndoesSucceededItemsOfPartlyFailedForEach(t *testing.T) {
	res := runForEachPartial(t)
	undo := workflows.UndoCalls(res.Steps, res.Holds, compileCatalog())
	if len(undo) != 1 || undo[0].Params["hostname"] != "h1" || undo[0].Index != 0 || undo[0].Undo != "defender.unisolate_machine" {
		t.Errorf("undo calls = %+v, want the undo of h1 (isolated)", undo)
	}
}

// A rollback does not undo again what a hold already released.
func TestRollbackSkipsReleasedHolds(t *testing.T) {
	t.Run("released by its timer", func(t *testing.T) {
		res := runHold(t, nil)
		if undo := workflows.UndoCalls(res.Steps, res.Holds, compileCatalog()); len(undo) != 0 {
			t.Errorf("hold released at %s, yet rollback would undo again: %+v", res.Holds[0].ReleasedAt.UTC().Format(time.RFC3339), undo)
		}
	})
	t.Run("release failed", func(t *testing.T) {
		res := runHold(t, temporal.NewNonRetryableApplicationError("503 from the vendor", "Unavailable", nil))
		if undo := workflows.UndoCalls(res.Steps, res.Holds, compileCatalog()); len(undo) != 1 || undo[0].Step != "isolate" {
			t.Errorf("release failed (%q), so a rollback must undo it: %+v", res.Holds[0].Error, undo)
		}
	})
	// free undoes h1 at once: h2 stays held until contain_for elapses and
	// is then released by the timer, so a rollback has nothing left. In
	// histories recorded before, free released the whole hold: h2 stayed
	// isolated, and only a rollback would undo it.
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("one target released early by a later step legacy=%v", legacy), func(t *testing.T) {
			h, _ := outcomeHarness(t, false)
			var mu sync.Mutex
			var undone []string
			h.action("defender.unisolate_machine", func(_ context.Context, c catalog.Call) (map[string]any, error) {
				mu.Lock()
				defer mu.Unlock()
				undone = append(undone, fmt.Sprint(c.Params["hostname"]))
				return map[string]any{}, nil
			})
			if legacy {
				h.env.OnGetVersion("hold-targets-released-early", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			start := h.env.Now()
			res, err := h.run(compileYAML(t, earlyReleasePlaybook), det)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil {
				t.Fatalf("holds %+v", res.Holds)
			}
			released := res.Holds[0].ReleasedAt.Sub(start)
			var again []string
			for _, u := range workflows.UndoCalls(res.Steps, res.Holds, compileCatalog()) {
				if u.Step == "isolate" {
					again = append(again, fmt.Sprint(u.Params["hostname"]))
				}
			}
			if legacy {
				if strings.Join(undone, ",") != "h1" || released > time.Hour || strings.Join(again, ",") != "h2" {
					t.Errorf("before the change: undone %v, hold released after %s, rollback would undo %v; want h1, at once, h2", undone, released, again)
				}
				return
			}
			if strings.Join(undone, ",") != "h1,h2" || released < 4*time.Hour || len(again) != 0 {
				t.Errorf("undone %v, hold released after %s (%v), rollback would undo %v; want h1 then h2 at 4h, nothing left", undone, released, res.Holds[0].Extensions, again)
			}
		})
	}
}

// earlyReleasePlaybook holds two hosts for 4h; a later step releases h1.
const earlyReleasePlaybook = `apiVersion: riposte/v1
name: early
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    for_each: '${{ ["h1", "h2"] }}'
    with: {hostname: "${{ item }}"}
    approval: auto
    contain_for: 4h
  - id: free
    action: defender.unisolate_machine
    needs: [isolate]
    with: {hostname: "h1"}
    approval: auto
`

// runHold runs holdPlaybook to its end; the release's undo fails with
// undoErr when it is set.
func runHold(t *testing.T, undoErr error) *workflows.Result {
	t.Helper()
	h, _ := outcomeHarness(t, false)
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		return map[string]any{}, undoErr
	})
	res, err := h.run(compileYAML(t, holdPlaybook), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil || (res.Holds[0].Error != "") != (undoErr != nil) {
		t.Fatalf("holds %+v", res.Holds)
	}
	return res
}

// needs may name a step declared below: an undo step declared before the
// contain step it follows still cancels it out (rollback plan, outcome),
// as the run's own early release already did.
const earlyReleaseDeclaredFirst = `apiVersion: riposte/v1
name: early
version: 1
trigger: {when: "true"}
steps:
  - id: free
    action: defender.unisolate_machine
    needs: [isolate]
    with: {hostname: "h1"}
    approval: {approvers: {users: [UBOB]}, timeout: 30m, on_timeout: approve}
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "h1"}
    approval: auto
    contain_for: 4h
`

func TestUndoStepDeclaredBeforeItsContainStep(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		return map[string]any{}, nil
	})
	res, err := h.run(compileYAML(t, earlyReleaseDeclaredFirst), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil || !strings.Contains(strings.Join(res.Holds[0].Extensions, ";"), "released early by step free") {
		t.Fatalf("holds %+v", res.Holds)
	}
	if undo := workflows.UndoCalls(res.Steps, res.Holds, compileCatalog()); len(undo) != 0 {
		t.Errorf("step free undid the isolation, yet a rollback would undo again: %+v", undo)
	}
	if res.Outcome == workflows.OutcomeContained {
		t.Errorf("outcome %s (%s): the containment was undone by step free", res.Outcome, res.OutcomeDetail)
	}
}

// An analyst contained the host and disabled the user before the run: the
// run's contain steps find them so on their first attempt (the connectors
// send nothing and say catalog.OutputPreexisting). A rollback of the run
// lifts neither: someone else applied them.
func TestRollbackLeavesContainmentThatWasAlreadyInPlace(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	steps := []workflows.StepResult{
		{ID: "isolate", Action: "crowdstrike.contain_host", Status: "succeeded", Params: map[string]any{"hostname": "fin-ws-042"},
			Output: map[string]any{"device_id": "aid-1", "already": true, catalog.OutputPreexisting: true}, EndedAt: &t0},
		{ID: "disable", Action: "entra.disable_user", Status: "succeeded", Params: map[string]any{"user": "jdoe@example.com"},
			Output: map[string]any{"user_id": "u1", "already": true, catalog.OutputPreexisting: true}, EndedAt: &t1},
		// Found so on a retry: the step's own first attempt applied it.
		{ID: "block", Action: "panos.block_ip", Status: "succeeded", Params: map[string]any{"ip": "203.0.113.9"},
			Output: map[string]any{"already": true}, EndedAt: &t1},
	}
	undo := workflows.UndoCalls(steps, nil, compileCatalog())
	if len(undo) != 1 || undo[0].Step != "block" {
		t.Fatalf("rollback would undo %+v; want only block's", undo)
	}
}

// Of a for_each contain step, an item whose call found its containment
// already in place (someone else's) is left by the rollback; the items the
// run applied are undone (README, "Undo and time-boxed containment":
// `preexisting` ... a rollback does not lift it).
func TestRollbackLeavesForEachItemsThatWereAlreadyInPlace(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []workflows.StepResult{
		{ID: "isolate", Action: "crowdstrike.contain_host", Status: "succeeded", EndedAt: &t0, Items: []workflows.ItemResult{
			{Index: 0, Item: "fin-ws-042", Status: "succeeded", Params: map[string]any{"hostname": "fin-ws-042"},
				Output: map[string]any{"device_id": "aid-1", "already": false}},
			{Index: 1, Item: "fin-ws-043", Status: "succeeded", Params: map[string]any{"hostname": "fin-ws-043"},
				Output: map[string]any{"device_id": "aid-2", "already": true, catalog.OutputPreexisting: true}},
		}},
	}
	undo := workflows.UndoCalls(steps, nil, compileCatalog())
	if len(undo) != 1 || undo[0].Index != 0 || undo[0].Params["hostname"] != "fin-ws-042" {
		t.Fatalf("rollback would undo %+v; want only item 0 (fin-ws-042): fin-ws-043 was isolated before the run", undo)
	}
}

// A contain_for step that finds its host already isolated holds nothing:
// at 4h its release would lift what someone else applied. Histories
// recorded before held it, and released it.
func TestNoHoldOnContainmentAlreadyInPlace(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			h, _ := outcomeHarness(t, false)
			h.action("defender.isolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
				return map[string]any{"machine_id": "m1", "already": true, catalog.OutputPreexisting: true}, nil
			})
			var mu sync.Mutex
			released := 0
			h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
				mu.Lock()
				defer mu.Unlock()
				released++
				return map[string]any{}, nil
			})
			if legacy {
				h.env.OnGetVersion("hold-preexisting", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			res, err := h.run(compileYAML(t, holdPlaybook), det)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if legacy {
				want = 1
			}
			if len(res.Holds) != want || released != want {
				t.Errorf("holds %+v, released %d times; want %d", res.Holds, released, want)
			}
			if stepOf(res, "isolate").Status != "succeeded" {
				t.Errorf("isolate %s", stepOf(res, "isolate").Status)
			}
		})
	}
}

// A contain step without contain_for that finds its host already contained
// (a second detection of the same host: every run of the benchmark) records
// no version marker: a marker is a history event and a search attribute
// upsert on every such run, for nothing.
func TestPreexistingWithoutHoldRecordsNoMarker(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.action("defender.isolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		return map[string]any{"machine_id": "m1", "already": true, catalog.OutputPreexisting: true}, nil
	})
	asked := false
	h.env.OnGetVersion("hold-preexisting", workflow.DefaultVersion, 1).Run(func(mock.Arguments) { asked = true }).Return(workflow.Version(1))
	res, err := h.run(compileYAML(t, strings.Replace(holdPlaybook, "    contain_for: 4h\n", "", 1)), det)
	if err != nil {
		t.Fatal(err)
	}
	if stepOf(res, "isolate").Status != "succeeded" || len(res.Holds) != 0 {
		t.Fatalf("isolate %s, holds %+v", stepOf(res, "isolate").Status, res.Holds)
	}
	if asked {
		t.Error("a step without contain_for asked for the hold-preexisting version: a marker on every run that finds its host contained")
	}
}

// sealRollback seals in as the API does (SealRollback) at time at.
func sealRollback(t *testing.T, h *harness, in workflows.RollbackInput, at time.Time) workflows.RollbackInput {
	t.Helper()
	in, err := workflows.SealRollback(h.keys, in, at)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// A for_each contain_for step holds only the items it applied: at
// contain_for its release lifts them and leaves the host another had
// isolated before the run (its call answered preexisting), which a release
// would otherwise lift (README: `preexisting` gets no contain_for hold).
func TestForEachHoldLeavesItemsAlreadyInPlace(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.action("crowdstrike.contain_host", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		if call.Params["hostname"] == "b" {
			return map[string]any{"already": true, catalog.OutputPreexisting: true}, nil
		}
		return map[string]any{}, nil
	})
	var mu sync.Mutex
	var released []string
	h.action("crowdstrike.lift_containment", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		released = append(released, fmt.Sprint(call.Params["hostname"]))
		return map[string]any{}, nil
	})
	res, err := h.run(compileYAML(t, holdTwoHosts), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(released) != 1 || released[0] != "a" {
		t.Errorf("released %v at contain_for; want only a (b was isolated before the run)", released)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil {
		t.Errorf("holds %+v; want one hold (of a), released", res.Holds)
	}
}

// Each release at contain_for is its own vendor call: two steps of a run
// whose holds fall due release with different idempotency keys, so that
// a vendor that deduplicates by key (the lab, the connectors' own replay
// guards) does not take the second release as a copy of the first and
// leave that host contained while its hold reads "released".
func TestReleasesOfTwoStepsHaveTheirOwnKeys(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.action("crowdstrike.contain_host", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	var mu sync.Mutex
	keys := map[string]string{}
	h.action("crowdstrike.lift_containment", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		keys[fmt.Sprint(call.Params["hostname"])] = call.IdempotencyKey
		return map[string]any{}, nil
	})
	src := `apiVersion: riposte/v1
name: holdtwosteps
version: 1
trigger: {when: "true"}
steps:
  - id: isolate_a
    action: crowdstrike.contain_host
    with: {hostname: "a"}
    approval: auto
    contain_for: 1h
  - id: isolate_b
    action: crowdstrike.contain_host
    with: {hostname: "b"}
    approval: auto
    contain_for: 1h
`
	if _, err := h.run(compileYAML(t, src), det); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys["a"] == "" || keys["a"] == keys["b"] {
		t.Errorf("release keys %v; want one of its own for each host", keys)
	}
}
