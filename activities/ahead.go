package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

// WithAhead wraps fn, an action, so that a local call carrying Call.Ahead
// (workflows.RevRunAhead) runs the next step once fn succeeded: next finds
// that step's action (without the guardrail check, which read and notify
// actions do not have). fn keeps to its own step's time, the first part of
// the call's, and a timeout there is the call's timeout; the next step
// gets the rest. How the next step went is added to fn's output under
// catalog.AheadKey. The next step never fails the call, whose own action
// already acted: not its error, its timeout, a panic, nor a handler that
// overruns its time (it is then left behind and reported timed out); the
// run calls a next step that did not succeed on its own. A call cancelled
// before the next step starts does not start it.
func WithAhead(fn ActionFunc, next func(action string) (ActionFunc, bool)) ActionFunc {
	return func(ctx context.Context, call Call) (map[string]any, error) {
		a := call.Ahead
		if a == nil {
			out, err := fn(ctx, call)
			return out, attemptTimedOut(ctx, err)
		}
		own := ctx
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			own, cancel = context.WithDeadline(ctx, dl.Add(-a.Timeout))
			defer cancel()
		}
		start := time.Now()
		out, err := fn(own, call)
		ended := time.Now()
		// The own action's attempt, for riposte_step_duration_seconds.
		telemetry.RecordOwnDuration(ctx, ended.Sub(start))
		if err != nil {
			return out, attemptTimedOut(own, err)
		}
		if out == nil {
			out = map[string]any{}
		}
		res := runAhead(ctx, a, next, out)
		res.FirstEndedAt = ended.UTC()
		if res.Status != playbook.StatusSkipped {
			telemetry.RecordStepRunAhead(ctx, res.Action, res.Status, res.EndedAt.Sub(res.StartedAt))
		}
		if res.Status != playbook.StatusSucceeded && activity.IsActivity(ctx) {
			activity.GetLogger(ctx).Warn("the next step, run ahead in this call, did not succeed: the run calls it on its own",
				"next_step", res.Step, "next_action", res.Action, "status", res.Status, "error", res.Error)
		}
		out[catalog.AheadKey] = res
		return out, nil
	}
}

// runAhead renders and runs the next step after a call whose output is
// out.
func runAhead(ctx context.Context, a *catalog.Ahead, next func(string) (ActionFunc, bool), out map[string]any) (res catalog.AheadResult) {
	res = catalog.AheadResult{Step: a.Call.StepID, Action: a.Call.Action, StartedAt: time.Now().UTC()}
	defer func() {
		if p := recover(); p != nil {
			res.Status, res.Error, res.Output = playbook.StatusFailed, fmt.Sprint("panic: ", p), nil
		}
		res.EndedAt = time.Now().UTC()
	}()
	if err := ctx.Err(); err != nil {
		// Cancelled (the run aborted or was cancelled) or out of time
		// while the own action ran.
		res.Status, res.Error = playbook.StatusSkipped, "not started: "+err.Error()
		return res
	}
	fn, ok := next(a.Call.Action)
	if !ok || a.Render == nil {
		res.Status, res.Error = playbook.StatusSkipped, fmt.Sprintf("action %q is not registered on this worker", a.Call.Action)
		return res
	}
	// The next step's params are rendered from the output as the run
	// decodes it from the history (JSON numbers are float64).
	prev, err := asDecoded(out)
	if err == nil {
		res.Params, err = a.Render(prev)
	}
	if err != nil {
		res.Status, res.Error = playbook.StatusSkipped, err.Error()
		return res
	}
	call := a.Call
	call.Params = res.Params
	actx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	f, _ := telemetry.ActivityFromContext(ctx)
	f.Step, f.Index, f.Action = call.StepID, call.Index, call.Action
	actx = telemetry.ContextWithActivity(actx, f)
	type result struct {
		out map[string]any
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.err = fmt.Errorf("panic: %v", p)
			}
			done <- r
		}()
		r.out, r.err = fn(actx, call)
	}()
	var r result
	select {
	case r = <-done:
	case <-actx.Done():
		// A handler that does not return at its deadline is left behind:
		// the call, and the step before, must not wait for it.
		select {
		case r = <-done:
		case <-time.After(100 * time.Millisecond):
			r.err = actx.Err()
		}
	}
	switch {
	case r.err == nil:
		res.Status, res.Output = playbook.StatusSucceeded, r.out
		if res.Output == nil {
			res.Output = map[string]any{}
		}
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		res.Status, res.Error = playbook.StatusTimedOut, r.err.Error()
	case errors.Is(actx.Err(), context.Canceled):
		res.Status, res.Error = playbook.StatusCanceled, r.err.Error()
	default:
		res.Status, res.Error = playbook.StatusFailed, r.err.Error()
	}
	return res
}

// asDecoded is v as encoding/json gives it back.
func asDecoded(v map[string]any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding the output for the next step: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding the output for the next step: %w", err)
	}
	return m, nil
}
