package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/conditions"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// runStep evaluates the step's condition, renders its params and calls its
// action (once, or once per for_each item).
func (r *run) runStep(ctx workflow.Context, i int) {
	cs := r.pb.Steps[i]
	if a := r.ranAhead[i]; a != nil {
		r.finishAhead(ctx, i, a)
		return
	}
	now := workflow.Now(ctx)
	r.results[i].StartedAt = &now
	if why := r.containStopped(cs); why != "" {
		r.finish(ctx, i, stepEnd{Status: playbook.StatusSkipped, Reason: why})
		return
	}
	env := r.env()
	if cs.If != nil {
		ok, err := cs.If.EvalBool(env.Map()) //workflowcheck:ignore expressions are pure
		if err != nil {
			r.finish(ctx, i, stepEnd{Status: playbook.StatusFailed, Error: "if: " + err.Error()})
			return
		}
		if !ok {
			r.finish(ctx, i, stepEnd{Status: playbook.StatusSkipped, Reason: "if: " + cs.If.Source + " is false"})
			return
		}
	}
	if cs.ForEach != nil {
		r.runForEach(ctx, i, env)
		return
	}
	params, err := renderParams(cs, env.Map())
	if err != nil {
		r.finish(ctx, i, stepEnd{Status: playbook.StatusFailed, Error: err.Error()})
		return
	}
	r.results[i].Params = params
	var out map[string]any
	var status, errMsg string
	if r.checkInCall(cs, env.Map()) {
		var ok bool
		if out, status, errMsg, ok = r.callChecked(ctx, i, cs, params); !ok {
			return
		}
	} else {
		if !r.gateThenRun(ctx, i, cs, params, env.Map()) {
			return
		}
		out, status, errMsg = r.call(ctx, cs, params, -1)
	}
	if status == playbook.StatusSucceeded {
		r.undoneBy(ctx, cs, params)
		r.tookOver(cs, params, out)
		if !r.heldElsewhere(ctx, cs, out) {
			r.addHold(ctx, cs, []map[string]any{params})
		}
	}
	r.finish(ctx, i, stepEnd{Status: status, Output: out, Error: errMsg})
	if t := r.ownEnd[i]; t != nil {
		// The call ran the next step too: this step ended before it.
		r.results[i].EndedAt = t
	}
	r.releaseBudget(ctx, i, cs, status, nil, false)
}

// gateThenRun opens the step's approval gate when one applies and, when
// the step may go on (approved, and not withdrawn while the gate waited),
// marks it running. false: the step has finished.
func (r *run) gateThenRun(ctx workflow.Context, i int, cs *playbook.CStep, params any, env map[string]any) bool {
	if ok, status, reason := r.maybeGate(ctx, i, cs, params, env); !ok {
		r.finish(ctx, i, stepEnd{Status: status, Reason: reason})
		r.releaseBudget(ctx, i, cs, status, nil, true)
		return false
	}
	if why := r.containStopped(cs); why != "" { // withdrawn while the gate waited
		r.finish(ctx, i, stepEnd{Status: playbook.StatusSkipped, Reason: why})
		r.releaseBudget(ctx, i, cs, playbook.StatusSkipped, nil, true)
		return false
	}
	r.setStatus(ctx, i, playbook.StatusRunning)
	return true
}

// maybeGate runs the step's approval gate when one applies. A for_each step
// has one gate for all its items, shown with every item's params.
func (r *run) maybeGate(ctx workflow.Context, i int, cs *playbook.CStep, params any, env map[string]any) (bool, string, string) {
	need, why, err := r.needsGate(cs, env)
	if err != nil {
		return false, playbook.StatusFailed, err.Error()
	}
	p, _ := params.(map[string]any)
	if p == nil {
		p = map[string]any{"items": params}
	}
	// Site guardrails apply whatever the playbook says. A gate that its
	// timeout approves may contain with nobody deciding, so the step is
	// checked as automatic (safe mode, confidence floor, budgets) too.
	auto := !need || (cs.Step.Approval != nil && cs.Step.Approval.OnTimeout == playbook.OnTimeoutApprove)
	d := r.guardrail(ctx, cs, p, auto)
	if d.Decision != policy.Allow || d.Rule != "" {
		r.results[i].Guardrail = &d
	}
	switch d.Decision {
	case policy.Refuse:
		return false, playbook.StatusDenied, "refused by policy (" + d.Rule + "): " + d.Why
	case policy.Gate:
		need, why = true, "policy "+d.Rule+": "+d.Why
	}
	if !need {
		return true, "", ""
	}
	var forced *policy.Decision
	if d.Decision == policy.Gate {
		forced = &d
	}
	return r.gate(ctx, i, cs, p, why, forced)
}

func renderParams(cs *playbook.CStep, env map[string]any) (map[string]any, error) {
	v, err := cs.With.Render(env) //workflowcheck:ignore expressions are pure
	if err != nil {
		return nil, fmt.Errorf("rendering with: %w", err)
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// MaxForEachItems bounds the items of one for_each step: each is a call
// (an activity, or a marker) in the run's history.
const MaxForEachItems = 1000

// changeForEachLimit gates the refusal of a longer list (asked only then).
const changeForEachLimit = "for-each-limit"

func (r *run) runForEach(ctx workflow.Context, i int, env *conditions.Env) {
	cs := r.pb.Steps[i]
	raw, err := cs.ForEach.Render(env.Map()) //workflowcheck:ignore expressions are pure
	if err != nil {
		r.finish(ctx, i, stepEnd{Status: playbook.StatusFailed, Error: "for_each: " + err.Error()})
		return
	}
	items, ok := raw.([]any)
	if !ok && raw != nil {
		r.finish(ctx, i, stepEnd{Status: playbook.StatusFailed, Error: fmt.Sprintf("for_each: expected a list, got %T", raw)})
		return
	}
	if len(items) == 0 {
		r.finish(ctx, i, stepEnd{Status: playbook.StatusSkipped, Output: []any{}, Reason: "for_each: the list is empty"})
		return
	}
	// A list from a hostile detection could otherwise run tens of
	// thousands of calls, past Temporal's history limits (the run would be
	// terminated). Runs recorded before the limit replay unchanged.
	if len(items) > MaxForEachItems && workflow.GetVersion(ctx, changeForEachLimit, workflow.DefaultVersion, 1) >= 1 {
		r.finish(ctx, i, stepEnd{Status: playbook.StatusFailed, Error: fmt.Sprintf("for_each: %d items, more than the %d one step may run; narrow or split the list", len(items), MaxForEachItems)})
		return
	}
	// Render every item's params first so one gate can show them all.
	all := make([]any, len(items))
	for n, item := range items {
		ienv := *env
		ienv.Item, ienv.Index, ienv.HasItem = item, n, true
		p, err := renderParams(cs, ienv.Map())
		if err != nil {
			r.finish(ctx, i, stepEnd{Status: playbook.StatusFailed, Error: fmt.Sprintf("item %d: %v", n, err)})
			return
		}
		all[n] = p
	}
	r.results[i].Params = all
	if !r.gateThenRun(ctx, i, cs, all, env.Map()) {
		return
	}
	conc := cs.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	results := make([]ItemResult, len(items))
	sem := workflow.NewBufferedChannel(ctx, conc)
	wg := workflow.NewWaitGroup(ctx)
	for n, item := range items {
		sem.Send(ctx, true)
		wg.Add(1)
		n, item := n, item
		workflow.Go(ctx, func(gctx workflow.Context) {
			defer wg.Done()
			defer sem.Receive(gctx, nil)
			res := ItemResult{Index: n, Item: item}
			params := all[n].(map[string]any)
			res.Params = params
			if why := r.containStopped(cs); why != "" &&
				workflow.GetVersion(gctx, changeWithdrawItems, workflow.DefaultVersion, 1) >= 1 {
				// Withdrawn while earlier items ran: no further containment.
				res.Status, res.Error = playbook.StatusSkipped, why
				results[n] = res
				return
			}
			out, status, errMsg := r.call(gctx, cs, params, n)
			res.Output, res.Status, res.Error = out, status, errMsg
			results[n] = res
		})
	}
	wg.Wait(ctx)
	outputs := make([]any, len(results))
	params := make([]any, len(results))
	status := playbook.StatusSucceeded
	var errs []string
	for n, res := range results {
		outputs[n] = res.Output
		params[n] = res.Params
		if res.Status != playbook.StatusSucceeded {
			if status == playbook.StatusSucceeded {
				status = res.Status
			}
			errs = append(errs, fmt.Sprintf("item %d: %s", n, res.Error))
		}
	}
	r.results[i].Items = results
	r.results[i].Params = params
	r.itemsUndid(ctx, cs, results)
	var held []map[string]any
	for _, res := range results {
		if p, ok := res.Params.(map[string]any); ok && res.Status == playbook.StatusSucceeded {
			r.tookOver(cs, p, res.Output)
		}
		if res.Status == playbook.StatusSucceeded && !r.heldElsewhere(ctx, cs, res.Output) {
			held = append(held, res.Params.(map[string]any))
		}
	}
	if len(held) > 0 {
		r.addHold(ctx, cs, held)
	}
	r.finish(ctx, i, stepEnd{Status: status, Output: outputs, Error: strings.Join(errs, "; ")})
	r.releaseBudget(ctx, i, cs, status, results, false)
}

// changeWithdrawItems: a withdrawal stops the for_each items that have not
// started.
const changeWithdrawItems = "withdraw-stops-items"

// changeItemsRelease: the succeeded items of a for_each step release the
// holds they undid, as a single step's call does (undoneBy).
const changeItemsRelease = "items-release-holds"

// itemsUndid releases the holds that the succeeded items of a for_each step
// undid. Runs recorded before took no notice (their hold's timer undid the
// target a second time), and replay so: the change is asked for only when
// an item's call matches a held target.
func (r *run) itemsUndid(ctx workflow.Context, cs *playbook.CStep, results []ItemResult) {
	var undid []map[string]any
	for _, res := range results {
		if p, ok := res.Params.(map[string]any); ok && res.Status == playbook.StatusSucceeded && r.undoesHeld(cs, p) {
			undid = append(undid, p)
		}
	}
	if len(undid) == 0 || workflow.GetVersion(ctx, changeItemsRelease, workflow.DefaultVersion, 1) < 1 {
		return
	}
	for _, p := range undid {
		r.undoneBy(ctx, cs, p)
	}
}

// call runs the step's action as an activity and classifies the outcome.
func (r *run) call(ctx workflow.Context, cs *playbook.CStep, params map[string]any, index int) (map[string]any, string, string) {
	out, status, errMsg, _ := r.callWith(ctx, cs, params, index, nil)
	return out, status, errMsg
}

// callWith is call; with guard, the activity asks the guardrails first and
// the decision it returns comes back too (nil when the call ended without
// one: a timeout, a cancellation). A decision other than allow means the
// call's last attempt did not act, and out, status and errMsg are empty.
func (r *run) callWith(ctx workflow.Context, cs *playbook.CStep, params map[string]any, index int, guard *policy.Request) (map[string]any, string, string, *policy.Decision) {
	timeout := cs.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	rp := &temporal.RetryPolicy{
		InitialInterval:    DefaultInitialBackoff,
		BackoffCoefficient: DefaultBackoff,
		MaximumInterval:    DefaultMaxInterval,
		MaximumAttempts:    DefaultMaxAttempts,
	}
	if rt := cs.Retry; rt != nil {
		if rt.MaxAttempts > 0 {
			rp.MaximumAttempts = int32(rt.MaxAttempts)
		}
		if rt.InitialInterval > 0 {
			rp.InitialInterval = rt.InitialInterval.D()
		}
		if rt.Backoff >= 1 {
			rp.BackoffCoefficient = rt.Backoff
		}
		if rt.MaxInterval > 0 {
			rp.MaximumInterval = rt.MaxInterval.D()
		}
	}
	if rp.MaximumInterval < rp.InitialInterval {
		rp.MaximumInterval = rp.InitialInterval
	}
	summary := stepTitle(cs)
	if index >= 0 {
		summary = fmt.Sprintf("%s [%d]", summary, index)
	}
	local := r.local && LocalStep(cs, r.input.Rev)
	if local && cs.Timeout.D() <= 0 {
		timeout = LocalStepTimeout
	}
	var ahead *catalog.Ahead
	next := -1
	if local && index < 0 && guard == nil {
		next = r.aheadOf(cs)
	}
	callTimeout := timeout
	views := len(r.changes)
	if next >= 0 {
		ahead = r.ahead(cs, next)
		summary = aheadSummary(summary, r.pb.Steps[next])
		callTimeout += ahead.Timeout
	}
	done := r.serialInherited(ctx, cs)
	var took map[string]any
	var tookOut any
	defer func() { done(took, tookOut) }()
	if r.input.Rev >= RevContainFinishes && ctx.Err() != nil {
		// Cancelled or aborted before this call started (a for_each item
		// waiting for its turn): nothing is sent.
		return nil, playbook.StatusSkipped, "not started: " + r.stopReason(), nil
	}
	callCtx := ctx
	if !local && r.input.Rev >= RevContainFinishes && cs.Action != nil && cs.Action.Risk == catalog.RiskContain {
		// The run's cancellation or abort does not reach a containment
		// call in flight: the vendor may be applying it, so the run waits
		// for what it did and records that (RevContainFinishes).
		callCtx, _ = workflow.NewDisconnectedContext(ctx)
	}
	actx := workflow.WithActivityOptions(callCtx, workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		// Actions heartbeat (activities.wrap), so an attempt on a worker
		// that died is retried within HeartbeatTimeout, not after timeout.
		HeartbeatTimeout: min(timeout, ActionHeartbeatTimeout),
		RetryPolicy:      rp,
		Summary:          summary,
	})
	if local {
		// The summary names the step on the marker in the UI.
		actx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: callTimeout,
			// Without it the SDK caps all attempts at StartToClose.
			ScheduleToCloseTimeout: time.Duration(rp.MaximumAttempts) * (callTimeout + rp.MaximumInterval),
			RetryPolicy:            rp,
			Summary:                summary,
		})
	}
	key := r.stepKey(cs.ID, index)
	call := catalog.Call{
		Action:         cs.Step.Action,
		Params:         params,
		WorkflowID:     r.info.WorkflowExecution.ID,
		RunID:          r.info.WorkflowExecution.RunID,
		StepID:         cs.ID,
		Index:          index,
		IdempotencyKey: key,
		DryRun:         r.input.Simulated(),
		ResetFrom:      r.resetFrom(),
		ContinuedFrom:  r.input.ReopenedFrom,
		Guardrail:      guard,
		Ahead:          ahead,
	}
	var out map[string]any
	var fut workflow.Future
	checkedType := !local && guard != nil && r.input.Rev >= RevCheckedActivity
	switch {
	case local:
		fut = workflow.ExecuteLocalActivity(actx, cs.Step.Action, call)
	case checkedType:
		fut = workflow.ExecuteActivity(actx, catalog.CheckedActivity(cs.Step.Action), call)
	default:
		fut = workflow.ExecuteActivity(actx, cs.Step.Action, call)
	}
	err := fut.Get(callCtx, &out)
	var d *policy.Decision
	if guard != nil {
		d = takeDecision(ctx, fut, err, checkedType)
		delete(out, catalog.GuardrailKey)
		if d != nil && d.Decision != policy.Allow {
			return nil, "", "", d
		}
	}
	if err == nil {
		if out == nil {
			out = map[string]any{}
		}
		if next >= 0 {
			r.takeAhead(ctx, fut, out, cs.Index, next, views)
		}
		took, tookOut = params, out
		return out, playbook.StatusSucceeded, "", d
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return nil, playbook.StatusTimedOut, fmt.Sprintf("timed out after %s per attempt (%d attempts)", timeout, rp.MaximumAttempts), d
	}
	var ce *temporal.CanceledError
	if errors.As(err, &ce) {
		if r.input.Rev >= RevContainFinishes {
			return nil, playbook.StatusFailed, cancelledPrefix + r.stopReason(), d
		}
		return nil, playbook.StatusFailed, cancelledPrefix + r.abortErr, d
	}
	return nil, playbook.StatusFailed, errorMessage(err), d
}

// resetFrom is the earlier run a run started by Temporal's Reset was
// reset from ("" otherwise): the containment its calls find may be that
// run's (catalog.Call.ResetFrom). Activity input: replay never compares it.
func (r *run) resetFrom() string {
	if orig := r.info.OriginalRunID; orig != r.info.WorkflowExecution.RunID {
		return orig
	}
	return ""
}

// cancelledPrefix starts the error of a call cut short by the run's
// cancellation or abort: it may have reached the vendor.
const cancelledPrefix = "cancelled: "

// stopReason says why the run stops starting steps and calls: it was
// cancelled (Temporal UI, tctl), or a step aborted it.
func (r *run) stopReason() string {
	if r.root != nil && r.root.Err() != nil {
		return "run cancelled"
	}
	return "run aborted: " + r.abortErr
}

// takeDecision reads the guardrails' decision from a checked call's output
// (decoded again, as a struct, by the data converter) or, when it failed
// after they allowed it, from its failure's details. checkedType: the call
// ran under its own activity type (RevCheckedActivity).
func takeDecision(ctx workflow.Context, fut workflow.Future, err error, checkedType bool) *policy.Decision {
	if err != nil {
		d := failedDecision(err)
		var te *temporal.TimeoutError
		var ce *temporal.CanceledError
		switch {
		case errors.As(err, &te) || errors.As(err, &ce):
			// The server puts the previous attempt's failure under the
			// last one's timeout: a gate for a guard that did not answer
			// then is not this attempt's decision, and would hide that it
			// acted and timed out. (An allow there is the one the last
			// attempt acted under too: calls are decided once.)
			if d != nil && d.Decision != policy.Allow && workflow.GetVersion(ctx, changeCheckedCallOutcome, workflow.DefaultVersion, 1) >= 1 {
				return nil
			}
		case d == nil && checkedType && notRegistered(err):
			// Only workers that cannot check it ran the checked call (a
			// rollback with such runs in flight): a human decides, as
			// when the guardrails cannot be asked, and the approved call
			// runs unchecked under the action's own type.
			if workflow.GetVersion(ctx, changeCheckedCallOutcome, workflow.DefaultVersion, 1) >= 1 {
				// The workflow sees only the last attempt: an earlier one
				// may have run on a worker that checks, and acted.
				u := policy.Unavailable("the last attempts reached only workers that cannot check the guardrails (" + errorMessage(err) + "); an earlier attempt may have acted")
				return &u
			}
		}
		return d
	}
	var res checkedOutput
	if fut.Get(ctx, &res) != nil || res.Guardrail == nil || res.Guardrail.Decision == "" {
		return nil
	}
	return res.Guardrail
}

// failedDecision is the decision a failed checked call carries: none, the
// fail-closed one of an attempt that could not ask the guardrails, or the
// one it ran under.
func failedDecision(err error) *policy.Decision {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		return nil
	}
	if ae.Type() == ErrGuardrailsUnavailable {
		// The last attempt could not ask them and did not act.
		d := unavailable(errorMessage(ae), ae)
		return &d
	}
	var lf LocalFailure
	var gd GuardDetail
	if ae.HasDetails() && ae.Details(&lf, &gd) == nil && gd.Decision.Decision != "" {
		return &gd.Decision
	}
	return nil
}

// notRegistered says a call failed because the workers that took it do
// not register its activity type (the SDK's ActivityNotRegisteredError).
func notRegistered(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == "ActivityNotRegisteredError"
}

// changeCheckedCallOutcome gates how a checked call's final failure is
// read: a timeout or cancellation carries no gate or refusal of an earlier
// attempt, and a call no worker could check opens the human gate (before:
// the previous attempt's decision, and a failed step).
const changeCheckedCallOutcome = "checked-call-outcome"

// checkedOutput is the decision in a checked call's output.
type checkedOutput struct {
	Guardrail *policy.Decision `json:"riposte_guardrail"`
}

// checkInCall says whether a contain step's guardrail check goes inside its
// own activity (RevGuardInCall): a single call as a regular activity, in a
// real run (a dry run checks nothing), that the playbook runs without a
// human. A step the playbook gates keeps the check before its gate, so a
// refusal never asks anyone.
func (r *run) checkInCall(cs *playbook.CStep, env map[string]any) bool {
	if r.input.Rev < RevGuardInCall || cs.Action == nil || cs.Action.Risk != catalog.RiskContain || r.input.DryRun {
		return false
	}
	if r.local && LocalStep(cs, r.input.Rev) {
		return false
	}
	need, _, err := r.needsGate(cs, env)
	return err == nil && !need
}

// callChecked runs a step that checkInCall chose: the call asks the
// guardrails and acts when they allow it. When they gate it, the step's
// gate opens as it would have after a separate check, and the approved
// call runs unchecked; when they refuse it, the step is denied. ok false:
// the step has finished.
func (r *run) callChecked(ctx workflow.Context, i int, cs *playbook.CStep, params map[string]any) (out map[string]any, status, errMsg string, ok bool) {
	r.setStatus(ctx, i, playbook.StatusRunning)
	// The call carries the workflow id, step, action and params already.
	req := &policy.Request{Auto: true, Facts: policy.NewFacts(r.detect, r.finding)}
	if r.input.Rev < RevCheckedActivity {
		// Workers of the first revision-4 builds (5a34288 to da123b7)
		// announce revision 4 too and ask with the request as it is: a
		// request without the params would miss a protected host and
		// the step's budget. (Activity input is not replayed.)
		req.WorkflowID, req.StepID, req.Action, req.Params = r.info.WorkflowExecution.ID, cs.ID, cs.Step.Action, params
	}
	out, status, errMsg, d := r.callWith(ctx, cs, params, -1, req)
	if d == nil {
		return out, status, errMsg, true
	}
	// Replay-safe: the workflow metrics handler is silent during replay.
	telemetry.RecordGuardrailDecision(ctx, d.Rule, d.Decision)
	if d.Decision != policy.Allow || d.Rule != "" {
		r.results[i].Guardrail = d
	}
	switch d.Decision {
	case policy.Allow:
		return out, status, errMsg, true
	case policy.Refuse:
		r.finish(ctx, i, stepEnd{Status: playbook.StatusDenied, Reason: "refused by policy (" + d.Rule + "): " + d.Why})
		return nil, "", "", false
	}
	if ok, status, reason := r.gate(ctx, i, cs, params, "policy "+d.Rule+": "+d.Why, d); !ok {
		r.finish(ctx, i, stepEnd{Status: status, Reason: reason})
		return nil, "", "", false
	}
	if why := r.containStopped(cs); why != "" { // withdrawn while the gate waited
		r.finish(ctx, i, stepEnd{Status: playbook.StatusSkipped, Reason: why})
		return nil, "", "", false
	}
	r.setStatus(ctx, i, playbook.StatusRunning)
	out, status, errMsg = r.call(ctx, cs, params, -1)
	return out, status, errMsg, true
}

// errorMessage extracts the innermost application message from an activity
// error, without Temporal's wrapping.
func errorMessage(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		var lf LocalFailure
		if ae.HasDetails() && ae.Details(&lf) == nil && lf.Message != "" {
			return lf.Message
		}
		return ae.Message()
	}
	return err.Error()
}

// stepKey is the idempotency key of a step's call (of its index-th item
// under for_each, index >= 0): the same whether the step is called on its
// own or run ahead in its predecessor's call, so a vendor that saw one
// attempt recognizes the other.
func (r *run) stepKey(step string, index int) string {
	key := r.info.WorkflowExecution.ID + "/" + step
	if index >= 0 {
		key = fmt.Sprintf("%s/%d", key, index)
	}
	return key
}
