package workflows

import (
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

// ActivityBudgetRelease gives back the budget slot of a contain step whose
// action failed or was not sent. Input ReleaseRequest, output bool.
const ActivityBudgetRelease = "riposte.policy.release"

// BudgetKey names the budget slot of one contain step.
func BudgetKey(workflowID, stepID string) string { return workflowID + "/" + stepID }

// PolicyCheck is the input of ActivityPolicyCheck.
type PolicyCheck struct {
	policy.Request
	// Simulated runs (shadow) get the static rules only: no budget is used.
	Simulated bool `json:"simulated,omitempty"`
}

// ErrGuardrailsUnavailable is the type of the retryable failure of a
// checked call's attempt that could not get the guardrails' answer. When
// the step's attempts run out on it, the run opens a human gate (rule
// guardrails_unavailable), as when the separate check fails.
const ErrGuardrailsUnavailable = "GuardrailsUnavailable"

// UnavailableDetail is the second detail of a GuardrailsUnavailable
// failure, after a LocalFailure with its message (NewUnavailable): the
// policy file was read, only the guard (safe mode, a budget) could not be
// asked, so the gate it forces names the policy's approvers as any other
// forced gate does. Failures recorded without it gate as before (the
// step's approvers).
type UnavailableDetail struct {
	Approvers []string `json:"approvers,omitempty"`
}

// NewUnavailable is the retryable failure of a guardrail check that could
// not get the guard's answer, naming who decides the gate it leads to.
func NewUnavailable(msg string, approvers []string) error {
	return temporal.NewApplicationError(msg, ErrGuardrailsUnavailable, LocalFailure{Message: msg}, UnavailableDetail{Approvers: approvers})
}

// unavailable is the fail-closed gate of a check that could not get the
// guardrails' answer: msg says why; err's UnavailableDetail, when it has
// one, names who decides.
func unavailable(msg string, err error) policy.Decision {
	d := policy.Unavailable(msg)
	var ae *temporal.ApplicationError
	var lf LocalFailure
	var ud UnavailableDetail
	if errors.As(err, &ae) && ae.Type() == ErrGuardrailsUnavailable && ae.HasDetails() && ae.Details(&lf, &ud) == nil {
		d.Approvers = ud.Approvers
	}
	return d
}

// GuardDetail is the second detail of the failure of a contain call that
// asked the guardrails itself (catalog.Call.Guardrail) and was allowed,
// then failed: the decision it ran under, which the run records on the
// step and reads to give back a budget slot. The first is a LocalFailure.
type GuardDetail struct {
	Decision policy.Decision `json:"decision"`
}

// guardrailsCtx runs the guardrail local activities (check, release): a
// few attempts within about 3 minutes, summary shown in the Temporal UI.
func guardrailsCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		// Without ScheduleToClose the SDK caps all attempts at StartToClose,
		// so a slow first attempt would never be retried.
		ScheduleToCloseTimeout: 3 * time.Minute,
		StartToCloseTimeout:    30 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 3, InitialInterval: 500 * time.Millisecond},
		Summary:                summary,
	})
}

// guardrail asks the site policy about a contain step. auto says whether
// the playbook would run it without a human. Any failure to ask fails safe:
// a human gate.
func (r *run) guardrail(ctx workflow.Context, cs *playbook.CStep, params map[string]any, auto bool) policy.Decision {
	if cs.Action == nil || cs.Action.Risk != catalog.RiskContain || r.input.DryRun {
		return policy.Decision{Decision: policy.Allow}
	}
	lctx := guardrailsCtx(ctx, "guardrails: "+cs.ID)
	req := PolicyCheck{
		Request: policy.Request{
			WorkflowID: r.info.WorkflowExecution.ID, StepID: cs.ID, Action: cs.Step.Action,
			Params: params, Detection: r.detect, Finding: r.finding, Auto: auto,
		},
		Simulated: r.input.Shadow,
	}
	var d policy.Decision
	if err := workflow.ExecuteLocalActivity(lctx, ActivityPolicyCheck, req).Get(ctx, &d); err != nil {
		d = unavailable(errorMessage(err), err)
	}
	// Replay-safe: the workflow metrics handler is silent during replay.
	telemetry.RecordGuardrailDecision(ctx, d.Rule, d.Decision)
	return d
}

// releaseBudget gives back the budget slot the guardrail reserved for step
// i when its action did not happen: it failed (the vendor or our side
// refused it, e.g. no connection configured) without any item succeeding.
// A timeout or a cancellation keeps the slot: the action may have reached
// the vendor. Best effort: a slot that cannot be released stays counted
// (the safe direction) and the step says so.
func (r *run) releaseBudget(ctx workflow.Context, i int, cs *playbook.CStep, status string, items []ItemResult, atGate bool) {
	g := r.results[i].Guardrail
	if g == nil || g.Decision != policy.Allow || g.Rule != "budget" || g.Budget == nil || r.input.Simulated() {
		return
	}
	// A failure that says its request may have reached the vendor keeps
	// its slot. Asked only for such a failure: runs recorded before gave
	// it back, and replay so.
	if mayHaveReached(r.results[i].Error, items) &&
		workflow.GetVersion(ctx, changeBudgetKeepUncertain, workflow.DefaultVersion, 1) >= 1 {
		return
	}
	why := "the action failed"
	switch {
	case failedUnsent(status, r.results[i].Error, items):
		if workflow.GetVersion(ctx, changeBudgetRelease, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return
		}
	case atGate || neverSent(items):
		// Denied, timed out or withdrawn at its gate (a gate that its
		// timeout approves reserves a slot before it opens), or a
		// for_each whose items failed or were skipped as withdrawn.
		if workflow.GetVersion(ctx, changeBudgetReleaseUnsent, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return
		}
		why = "the action was never sent"
	default:
		return
	}
	if r.input.Rev >= RevContainFinishes && ctx.Err() != nil {
		// The call finished after the run was cancelled or aborted
		// (RevContainFinishes) and acted on nothing: give the slot back
		// all the same, or the abort would keep a slot for nothing.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	lctx := guardrailsCtx(ctx, "guardrails: release budget of "+cs.ID)
	req := ReleaseRequest{Budget: g.Budget.Action, Key: BudgetKey(r.info.WorkflowExecution.ID, cs.ID), Why: why}
	var ok bool
	d := *g
	if err := workflow.ExecuteLocalActivity(lctx, ActivityBudgetRelease, req).Get(ctx, &ok); err != nil {
		d.Why += "; the slot could not be released (" + errorMessage(err) + ") and still counts"
	} else {
		d.Released = ok
		d.Why += "; " + why + ", so its slot was released"
	}
	r.results[i].Guardrail = &d
}

// failedUnsent reports whether a step failed without acting: it failed,
// not by a cancellation (the call may have reached the vendor), and so did
// every item.
func failedUnsent(status, errMsg string, items []ItemResult) bool {
	if !failedWithoutActing(status, errMsg) {
		return false
	}
	for _, it := range items {
		if !failedWithoutActing(it.Status, it.Error) {
			return false
		}
	}
	return true
}

// failedWithoutActing reports whether a call failed and its error does not
// say it may have acted.
func failedWithoutActing(status, errMsg string) bool {
	return status == playbook.StatusFailed && !mayHaveActed(errMsg)
}

// mayHaveActed reports whether a failed call's error says it may have
// acted: it was cancelled (the call may have reached the vendor), or it
// acted on some of its targets (catalog.PartiallyApplied).
func mayHaveActed(errMsg string) bool {
	return strings.HasPrefix(errMsg, cancelledPrefix) || strings.Contains(errMsg, catalog.PartiallyApplied)
}

// neverSent reports whether no item of a for_each step acted: each failed
// without acting or was skipped (withdrawn before its call). A step that
// ended at its gate (denied, timed out, withdrawn) never sent it either
// (atGate); a call that timed out may have.
func neverSent(items []ItemResult) bool {
	if len(items) == 0 {
		return false
	}
	for _, it := range items {
		if !failedWithoutActing(it.Status, it.Error) && it.Status != playbook.StatusSkipped {
			return false
		}
	}
	return true
}

// mayHaveReached reports whether the step's error, or an item's, says its
// request may have reached the vendor (catalog.MayHaveReached).
func mayHaveReached(errMsg string, items []ItemResult) bool {
	if strings.Contains(errMsg, catalog.MayHaveReached) {
		return true
	}
	for _, it := range items {
		if strings.Contains(it.Error, catalog.MayHaveReached) {
			return true
		}
	}
	return false
}

// changeBudgetKeepUncertain gates keeping the budget slot of a step whose
// failure says its request may have reached the vendor (mayHaveReached).
const changeBudgetKeepUncertain = "guard-budget-keep-uncertain"

// changeBudgetReleaseUnsent gates the release of budget slots of steps
// that never sent their action (neverSent).
const changeBudgetReleaseUnsent = "guard-budget-release-unsent"

// changeBudgetRelease gates the release of budget slots of failed steps.
const changeBudgetRelease = "guard-budget-release"
