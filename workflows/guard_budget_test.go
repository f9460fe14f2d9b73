package workflows

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func TestApplyBudgetBatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &BudgetGuardState{Budget: "crowdstrike.contain_host"}
	req := func(k string) ReserveRequest {
		return ReserveRequest{Budget: st.Budget, Key: k, Max: 3, Per: time.Hour}
	}
	// Five in one batch, max 3: the first three in order win.
	out := applyBudgetBatch(st, t0, BudgetBatch{Reserve: []ReserveRequest{req("a"), req("b"), req("c"), req("d"), req("e")}})
	var got []bool
	for _, r := range out.Reserved {
		got = append(got, r.Granted)
	}
	if fmt.Sprint(got) != "[true true true false false]" || out.Reserved[4].Used != 3 {
		t.Fatalf("reserved %+v", out.Reserved)
	}
	// A retried key keeps its slot; a refused one is still refused.
	out = applyBudgetBatch(st, t0.Add(time.Minute), BudgetBatch{Reserve: []ReserveRequest{req("b"), req("d")}})
	if !out.Reserved[0].Granted || out.Reserved[1].Granted {
		t.Fatalf("retry %+v", out.Reserved)
	}
	// Releasing b (its action failed) frees a slot for d, in the same batch.
	out = applyBudgetBatch(st, t0.Add(2*time.Minute), BudgetBatch{
		Release: []ReleaseRequest{{Budget: st.Budget, Key: "b"}, {Budget: st.Budget, Key: "never"}},
		Reserve: []ReserveRequest{req("d"), req("e")}})
	if fmt.Sprint(out.Released) != "[true false]" || !out.Reserved[0].Granted || out.Reserved[1].Granted {
		t.Fatalf("release %+v", out)
	}
	// After the window the slots are free again.
	out = applyBudgetBatch(st, t0.Add(time.Hour+time.Minute), BudgetBatch{Reserve: []ReserveRequest{req("e"), req("f"), req("g"), req("h")}})
	got = got[:0]
	for _, r := range out.Reserved {
		got = append(got, r.Granted)
	}
	if fmt.Sprint(got) != "[true true false false]" {
		// d (granted at t0+2m) still counts: 2 free slots.
		t.Fatalf("after window %+v (state %+v)", out.Reserved, st.Reservations)
	}
	if st.Granted != 6 || st.Released != 1 {
		t.Errorf("totals granted %d released %d", st.Granted, st.Released)
	}
}

// The guard continues as new before its Update count nears the server's
// limit, carrying the reservations that still count.
func TestBudgetGuardContinuesAsNew(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(BudgetGuard, workflow.RegisterOptions{Name: BudgetGuardWorkflow})
	granted := 0
	for i := range budgetGuardMaxUpdates {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(UpdateBudgetBatch, fmt.Sprint(i), &updateCB{t: t, done: func(r BudgetBatchResult) {
				if r.Reserved[0].Granted {
					granted++
				}
			}}, BudgetBatch{Reserve: []ReserveRequest{{Budget: "*", Key: fmt.Sprint(i), Max: 100, Per: time.Hour}}})
		}, time.Duration(i)*time.Second)
	}
	env.ExecuteWorkflow(BudgetGuardWorkflow, BudgetGuardState{Budget: "*"})
	err := env.GetWorkflowError()
	if err == nil || !isContinueAsNew(err) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	if granted != 100 {
		t.Errorf("granted %d, want 100", granted)
	}
}

// TestBudgetGuardDetailsAndContinueAsNewAt500 pins the README's "Each
// guard's current count, limit and totals show as its details in the
// Temporal UI; it continues as new every 500 Updates": after 499 Updates
// the guard still runs and its current details (the metadata query the UI
// reads) name the budget, the slots used of the limit per window, and the
// totals granted, refused and released; the 500th Update makes it continue
// as new. The literal 500 is the README's: a change of the limit must
// change the README too.
func TestBudgetGuardDetailsAndContinueAsNewAt500(t *testing.T) {
	const readmeUpdates = 500
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(BudgetGuard, workflow.RegisterOptions{Name: BudgetGuardWorkflow})
	const budget = "crowdstrike.contain_host"
	reserve := func(k string) BudgetBatch {
		return BudgetBatch{Reserve: []ReserveRequest{{Budget: budget, Key: k, Max: 3, Per: time.Hour}}}
	}
	// a, b, c granted, d refused (3 of 3 used), b released: 2 of 3 used,
	// 3 granted, 1 refused, 1 released. The other Updates are empty.
	batches := []BudgetBatch{reserve("a"), reserve("b"), reserve("c"), reserve("d"),
		{Release: []ReleaseRequest{{Budget: budget, Key: "b", Why: "the action failed"}}}}
	update := func(i int) {
		b := BudgetBatch{}
		if i < len(batches) {
			b = batches[i]
		}
		env.UpdateWorkflow(UpdateBudgetBatch, fmt.Sprint(i), &updateCB{t: t, done: func(BudgetBatchResult) {}}, b)
	}
	for i := range readmeUpdates - 1 {
		env.RegisterDelayedCallback(func() { update(i) }, time.Duration(i+1)*time.Second)
	}
	var details string
	running := false
	env.RegisterDelayedCallback(func() {
		running = !env.IsWorkflowCompleted()
		v, err := env.QueryWorkflow("__temporal_workflow_metadata")
		if err != nil {
			t.Errorf("metadata query: %v", err)
			return
		}
		var md sdkpb.WorkflowMetadata
		if err := v.Get(&md); err != nil {
			t.Errorf("metadata: %v", err)
		}
		details = md.GetCurrentDetails()
		update(readmeUpdates - 1)
	}, time.Duration(readmeUpdates+100)*time.Second)
	env.ExecuteWorkflow(BudgetGuardWorkflow, BudgetGuardState{Budget: budget})
	if !running {
		t.Errorf("the guard did not run on after %d Updates", readmeUpdates-1)
	}
	for _, want := range []string{
		"Budget: crowdstrike.contain_host",
		"2 of 3 used per 1h0m0s",
		"3 granted, 1 refused (gated), 1 released",
	} {
		if !strings.Contains(details, want) {
			t.Errorf("current details %q, want %q", details, want)
		}
	}
	if err := env.GetWorkflowError(); err == nil || !isContinueAsNew(err) {
		t.Fatalf("after %d Updates: want continue-as-new, got %v", readmeUpdates, err)
	}
}

type updateCB struct {
	t    *testing.T
	done func(BudgetBatchResult)
}

func (u *updateCB) Accept()          {}
func (u *updateCB) Reject(err error) { u.t.Errorf("update rejected: %v", err) }
func (u *updateCB) Complete(v any, err error) {
	if err != nil {
		u.t.Errorf("update failed: %v", err)
		return
	}
	u.done(v.(BudgetBatchResult))
}

func isContinueAsNew(err error) bool {
	var can *workflow.ContinueAsNewError
	return errors.As(err, &can)
}
