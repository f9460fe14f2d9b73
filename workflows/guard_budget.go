package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Budgets are sharded: one budget guard workflow per budget rule (keyed by
// the rule's action, "*" included), so containments counted against
// different rules never wait on each other. Each worker process batches
// the reservations and releases it has in flight for a budget into one
// Update (see activities.Guardrails), so a burst costs a few workflow tasks
// per batch instead of one Update per containment, and a guard never has
// more Updates in flight than there are worker processes. The guard is the
// only writer of its budget, so the count stays exact under concurrency,
// across workers and across restarts.
const (
	BudgetGuardWorkflow = "riposte.guard_budget"
	// BudgetGuardIDPrefix starts every budget guard's workflow id.
	BudgetGuardIDPrefix = "riposte-guard-budget-"
	UpdateBudgetBatch   = "batch"
	QueryBudget         = "state"
	// Continue-as-new well before the server's hard limits (2000 Updates
	// per run by default, also on Temporal Cloud; 51,200 events).
	budgetGuardMaxUpdates = 500
	budgetGuardMaxEvents  = 3000
)

// BudgetGuardID is the workflow id of the guard of one budget rule.
func BudgetGuardID(budget string) string {
	if budget == "*" {
		return BudgetGuardIDPrefix + "any"
	}
	return BudgetGuardIDPrefix + budget
}

// BudgetGuardState is a budget guard's state, carried across
// continue-as-new. Reservations are in the order they were granted.
type BudgetGuardState struct {
	Budget       string        `json:"budget"`
	Reservations []Reservation `json:"reservations,omitempty"`
	// Last limits asked for, shown in the UI.
	Max int           `json:"max,omitempty"`
	Per time.Duration `json:"per,omitempty"`
	// Totals since the guard first started.
	Granted  int64 `json:"granted"`
	Refused  int64 `json:"refused"`
	Released int64 `json:"released"`
}

// ReleaseRequest gives back the slot reserved under Key (its action failed
// or was never sent).
type ReleaseRequest struct {
	Budget string `json:"budget"`
	Key    string `json:"key"`
	Why    string `json:"why,omitempty"`
}

// BudgetBatch is one Update to a budget guard: releases are applied first,
// then reservations in order.
type BudgetBatch struct {
	Release []ReleaseRequest `json:"release,omitempty"`
	Reserve []ReserveRequest `json:"reserve,omitempty"`
}

// BudgetBatchResult answers a BudgetBatch, index by index.
type BudgetBatchResult struct {
	Released []bool          `json:"released,omitempty"`
	Reserved []ReserveResult `json:"reserved,omitempty"`
}

// BudgetGuard runs the guard of one budget rule.
func BudgetGuard(ctx workflow.Context, state BudgetGuardState) error {
	if err := workflow.SetQueryHandler(ctx, QueryBudget, func() (BudgetGuardState, error) { return state, nil }); err != nil {
		return err
	}
	updates := 0
	show := func(ctx workflow.Context) {
		workflow.SetCurrentDetails(ctx, budgetDetails(state))
	}
	show(ctx)
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateBudgetBatch, func(ctx workflow.Context, b BudgetBatch) (BudgetBatchResult, error) {
		updates++
		res := applyBudgetBatch(&state, workflow.Now(ctx), b)
		show(ctx)
		return res, nil
	}, workflow.UpdateHandlerOptions{}); err != nil {
		return err
	}
	_ = workflow.Await(ctx, func() bool {
		info := workflow.GetInfo(ctx)
		return updates >= budgetGuardMaxUpdates || info.GetCurrentHistoryLength() > budgetGuardMaxEvents || info.GetContinueAsNewSuggested()
	})
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	// Carry only what can still count.
	state.Reservations = unexpired(state.Reservations, workflow.Now(ctx), 24*time.Hour, state.Per)
	return workflow.NewContinueAsNewError(ctx, BudgetGuardWorkflow, state)
}

// applyBudgetBatch is the guard's whole logic; pure, so it is tested
// directly. A key already holding a slot gets it again (retried checks).
func applyBudgetBatch(state *BudgetGuardState, now time.Time, b BudgetBatch) BudgetBatchResult {
	var out BudgetBatchResult
	for _, r := range b.Release {
		released := false
		for i, res := range state.Reservations {
			if res.Key == r.Key {
				state.Reservations = append(state.Reservations[:i], state.Reservations[i+1:]...)
				released = true
				state.Released++
				break
			}
		}
		out.Released = append(out.Released, released)
	}
	if len(b.Reserve) == 0 {
		return out
	}
	held := make(map[string]bool, len(state.Reservations)+len(b.Reserve))
	for _, res := range state.Reservations {
		held[res.Key] = true
	}
	for _, r := range b.Reserve {
		state.Max, state.Per = r.Max, r.Per
		// Reservations are in time order: expired ones are a prefix.
		drop := 0
		for drop < len(state.Reservations) && now.Sub(state.Reservations[drop].At) >= r.Per {
			delete(held, state.Reservations[drop].Key)
			drop++
		}
		if drop > 0 {
			state.Reservations = append(state.Reservations[:0:0], state.Reservations[drop:]...)
		}
		granted := held[r.Key]
		if !granted && len(state.Reservations) < r.Max {
			state.Reservations = append(state.Reservations, Reservation{Key: r.Key, At: now})
			held[r.Key] = true
			granted = true
			state.Granted++
		} else if !granted {
			state.Refused++
		}
		out.Reserved = append(out.Reserved, ReserveResult{Granted: granted, Used: len(state.Reservations), Max: r.Max})
	}
	return out
}

// unexpired keeps the reservations younger than per (or keep when per is unknown).
func unexpired(rs []Reservation, now time.Time, keep, per time.Duration) []Reservation {
	if per > 0 {
		keep = per
	}
	var out []Reservation
	for _, r := range rs {
		if now.Sub(r.At) < keep {
			out = append(out, r)
		}
	}
	return out
}

func budgetDetails(s BudgetGuardState) string {
	name := s.Budget
	if name == "*" {
		name = "every contain action without a budget of its own"
	}
	used := fmt.Sprintf("%d used", len(s.Reservations))
	if s.Max > 0 {
		used = fmt.Sprintf("%d of %d used per %s", len(s.Reservations), s.Max, s.Per)
	}
	return fmt.Sprintf("Budget: %s\n\n%s\n\nSince start: %d granted, %d refused (gated), %d released (action failed or not sent)",
		name, used, s.Granted, s.Refused, s.Released)
}
