// Package guardrails is the client side of Riposte's guardrails: what the
// HTTP API, the CLI and the budget client call on the guard workflows
// through a Temporal client (flip the live safe-mode switch, read the
// state). The guardrails' rules are internal/policy (policy.yaml); the
// check runs in the policy-check activity (activities.Guardrails) for the
// interpreter (workflows/guardrail.go); the shared state lives in the
// guard workflows (workflows/guard.go, guard_budget.go).
package guardrails

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/workflows"
)

func guardStart(taskQueue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflows.GuardWorkflowID,
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "Riposte guardrails: safe mode and containment budgets",
	}
}

// updateGuard sends the Update name (with arg) to the riposte-guard
// workflow, starting it when it is not running, and returns once the
// Update completed (its result is read from the handle).
func updateGuard(ctx context.Context, c client.Client, taskQueue, name string, arg any) (client.WorkflowUpdateHandle, error) {
	op := c.NewWithStartWorkflowOperation(guardStart(taskQueue), workflows.GuardWorkflow, workflows.GuardState{})
	return c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{WorkflowID: workflows.GuardWorkflowID, UpdateName: name,
			Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
}

// Reserve asks the single pre-sharding guard workflow for a budget slot.
// Workers reserve through the sharded budget guards (activities.Budgets);
// this is for tools and tests written against the single guard.
func Reserve(ctx context.Context, c client.Client, taskQueue string, r workflows.ReserveRequest) (workflows.ReserveResult, error) {
	var out workflows.ReserveResult
	h, err := updateGuard(ctx, c, taskQueue, workflows.UpdateReserve, r)
	if err != nil {
		return out, err
	}
	err = h.Get(ctx, &out)
	return out, err
}

// SetSafeMode flips the live safe-mode switch.
// The request must carry the seal of the server that authenticated By.
func SetSafeMode(ctx context.Context, c client.Client, taskQueue string, req workflows.SafeModeRequest) (workflows.GuardState, error) {
	var out workflows.GuardState
	h, err := updateGuard(ctx, c, taskQueue, workflows.UpdateSafeMode, req)
	if err != nil {
		return out, fmt.Errorf("setting safe mode: %w", err)
	}
	err = h.Get(ctx, &out)
	return out, err
}

// Status reads the guardrail state: the live safe-mode switch and, per
// budget, the reservations that count (from each budget guard; budgets no
// sharded guard holds yet show what the previous single guard held).
func Status(ctx context.Context, c client.Client) (workflows.GuardState, error) {
	st, err := LegacyState(ctx, c)
	if err != nil {
		return st, err
	}
	it, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.BudgetGuardWorkflow)})
	if err != nil {
		return st, fmt.Errorf("listing budget guards: %w", err)
	}
	for _, e := range it.Executions {
		v, err := c.QueryWorkflow(ctx, e.Execution.WorkflowId, "", workflows.QueryBudget)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return st, fmt.Errorf("reading budget guard %s: %w", e.Execution.WorkflowId, err)
		}
		var bs workflows.BudgetGuardState
		if err := v.Get(&bs); err != nil {
			return st, err
		}
		if st.Budgets == nil {
			st.Budgets = map[string][]workflows.Reservation{}
		}
		st.Budgets[bs.Budget] = inWindow(bs, time.Now())
	}
	return st, nil
}

// inWindow is the reservations of a budget guard that count at now: those
// younger than its window. A guard drops older ones only when the next
// reservation arrives, so its state may still hold a burst long past.
func inWindow(bs workflows.BudgetGuardState, now time.Time) []workflows.Reservation {
	if bs.Per <= 0 {
		return bs.Reservations
	}
	var out []workflows.Reservation
	for _, r := range bs.Reservations {
		if now.Sub(r.At) < bs.Per {
			out = append(out, r)
		}
	}
	return out
}

// LegacyState reads the riposte-guard workflow (the live safe-mode switch,
// and the budgets of before the sharded budget guards); a guard that was
// never started is the zero state.
func LegacyState(ctx context.Context, c client.Client) (workflows.GuardState, error) {
	var st workflows.GuardState
	v, err := c.QueryWorkflow(ctx, workflows.GuardWorkflowID, "", workflows.QueryGuard)
	if err != nil {
		if isNotFound(err) {
			return st, nil
		}
		return st, err
	}
	err = v.Get(&st)
	return st, err
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
