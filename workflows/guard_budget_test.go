package workflows

import (
	"errors"
	"fmt"
	"testing"
	"time"

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
