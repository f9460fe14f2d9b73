// Package activities registers Riposte's side effects. Each integration is
// a folder of its own: activities/core (built-in actions), activities/slack
// (slack.* actions and the approval gate activities) and one folder per
// vendor connector, listed in vendors() (connections.go). Catalog() is the
// one explicit list of actions; Register puts them on a worker.
package activities

import (
	"context"
	"errors"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/activities/core"
	"github.com/riposte-dev/riposte/activities/slack"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/slackapp"
)

// The types every handler shares live in internal/connector; these
// aliases keep the activities.X names the rest of Riposte uses.
type (
	// Call is the input of every action activity (see catalog.Call).
	Call = connector.Call
	// Handler implements one action.
	Handler = connector.Handler
	// Definition is one catalog entry with its implementation.
	Definition = connector.Definition
	// Env is what handlers share: configuration, HTTP client, logger.
	Env = connector.Env
	// Connection is a configured vendor endpoint.
	Connection = connector.Connection
	// SecretRef points at a secret without holding it.
	SecretRef = connector.SecretRef
	// ConnectionType describes what a connection of one type needs.
	ConnectionType = connector.ConnectionType
	// ConnectionField is one key of a connection.
	ConnectionField = connector.ConnectionField
)

// ErrSecretUnavailable is wrapped by SecretRef.Resolve's errors.
var ErrSecretUnavailable = connector.ErrSecretUnavailable

// NewEnv returns an Env with sane defaults.
func NewEnv(logger *slog.Logger) *Env { return connector.NewEnv(logger) }

// NonRetryable marks an error that retrying cannot fix (bad input, 4xx).
func NonRetryable(errType, format string, args ...any) error {
	return connector.NonRetryable(errType, format, args...)
}

// Definitions is the one explicit list of actions Riposte ships.
func Definitions() []Definition {
	var defs []Definition
	defs = append(defs, core.Definitions()...)
	defs = append(defs, slack.Definitions()...)
	defs = append(defs, connectorDefinitions()...)
	return defs
}

// Catalog builds the action catalog from Definitions.
func Catalog() *catalog.Catalog {
	defs := Definitions()
	actions := make([]catalog.Action, len(defs))
	for i, d := range defs {
		actions[i] = d.Action
	}
	return catalog.MustNew(actions...)
}

// Register registers every action as an activity named after it, on a
// worker without the site guardrails: a call that asks them
// (Call.Guardrail) is gated, never run unchecked. Workers use
// RegisterWithGuardrails.
func Register(w worker.ActivityRegistry, env *Env) { RegisterWithGuardrails(w, env, nil) }

// RegisterWithGuardrails registers every action as an activity named after
// it; g answers the guardrail check of calls that carry one. Contain
// actions are registered a second time under catalog.CheckedActivity, the
// type of the calls that ask the guardrails themselves, which refuses a
// call that does not.
func RegisterWithGuardrails(w worker.ActivityRegistry, env *Env, g *Guardrails) {
	defs := Definitions()
	byName := make(map[string]Definition, len(defs))
	for _, d := range defs {
		byName[d.Name] = d
	}
	for _, d := range defs {
		fn := wrap(d, env, g, byName)
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: d.Name})
		if d.Risk == catalog.RiskContain {
			w.RegisterActivityWithOptions(RequireGuardrail(fn), activity.RegisterOptions{Name: catalog.CheckedActivity(d.Name)})
		}
	}
}

// RequireGuardrail refuses, without retry, a call that does not ask the
// guardrails: the activity type of checked calls never acts unchecked.
func RequireGuardrail(fn ActionFunc) ActionFunc {
	return func(ctx context.Context, call Call) (map[string]any, error) {
		if call.Guardrail == nil {
			return nil, temporal.NewNonRetryableApplicationError("a "+catalog.CheckedSuffix+" call must ask the guardrails (no guardrail request in the call)", "GuardrailMissing", nil)
		}
		return fn(ctx, call)
	}
}

// wrap adds what every action shares: the guardrail check of calls that
// ask for it, dry-run simulation and heartbeats, and the next step of a
// local call that carries one (Call.Ahead), from defs.
func wrap(d Definition, env *Env, g *Guardrails, defs map[string]Definition) ActionFunc {
	run := func(d Definition) ActionFunc {
		return func(ctx context.Context, call Call) (map[string]any, error) { return act(ctx, d, env, call) }
	}
	return WithAhead(CheckedAction(g.check(), run(d)), func(action string) (ActionFunc, bool) {
		nd, ok := defs[action]
		return run(nd), ok
	})
}

func act(ctx context.Context, d Definition, env *Env, call Call) (map[string]any, error) {
	if call.DryRun && d.Risk != catalog.RiskRead {
		return Simulate(&d.Action, call), nil
	}
	// Heartbeat while the handler runs, so Temporal notices a dead
	// worker within the step's heartbeat timeout.
	ctx, progress := connector.WithProgress(ctx)
	stop := heartbeat(ctx, progress)
	defer stop()
	// Handlers return errors with their own context; the step id and
	// action are already on the activity, so nothing is added here.
	out, err := d.Run(ctx, env, call)
	if err == nil && d.Risk == catalog.RiskContain && preexisting(ctx, out) && !appliedBeforeReset(ctx, env, call) {
		out[catalog.OutputPreexisting] = true
	}
	return out, attemptTimedOut(ctx, err)
}

// appliedBeforeReset reports whether the run this call's run was reset from
// made the same call (step, index, action) and it applied the containment
// (completed, not preexisting): then what the call finds is the run's own,
// held and undone as usual. Unknown (no such run, its history unreadable,
// the call never completed there) is false: the containment may be
// someone else's, and the run must not lift it.
func appliedBeforeReset(ctx context.Context, env *Env, call Call) bool {
	if call.ResetFrom == "" && call.ContinuedFrom == "" || env.PriorCall == nil {
		return false
	}
	applied, err := env.PriorCall(ctx, call)
	if err != nil {
		if activity.IsActivity(ctx) {
			activity.GetLogger(ctx).Warn("reset run: cannot read the earlier run's call; what it finds is taken as preexisting",
				"reset_from", call.ResetFrom, "step", call.StepID, "error", err)
		}
		return false
	}
	return applied
}

// preexisting: see catalog.OutputPreexisting. Only the step's first
// attempt, with nothing recorded by an earlier one, can know that no
// attempt of the step made the state it found.
func preexisting(ctx context.Context, out map[string]any) bool {
	if already, _ := out[catalog.OutputAlready].(bool); !already || !activity.IsActivity(ctx) {
		return false
	}
	return activity.GetInfo(ctx).Attempt == 1 && !activity.HasHeartbeatDetails(ctx)
}

// attemptTimedOut reports a handler's failure that came from the attempt's
// deadline as the timeout it is. A handler that honours its context
// returns at the deadline, and the SDK then takes that failure for the
// attempt's result (a local activity's timer and the handler's return
// race), so the step would read "failed" instead of "timed_out". For a
// step run ahead ctx is the own action's, whose deadline comes before the
// call's. A timeout stays as it is, and so does a non-retryable failure:
// the handler decided a retry is unsafe (a contain call that may have
// reached the vendor).
func attemptTimedOut(ctx context.Context, err error) error {
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return err
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.NonRetryable() {
		return err
	}
	return temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, err)
}

// SlackPoster is the Slack client of the slack.* actions and the approval
// activities (Env.Slack). nil means Slack is not configured.
type SlackPoster = slackapp.Poster

// RegisterApproval registers the approval gate activities
// (activities/slack).
func RegisterApproval(w worker.ActivityRegistry, p *slackapp.Poster) { slack.RegisterApproval(w, p) }

// Simulate synthesises an action's output from its catalog entry.
func Simulate(a *catalog.Action, call Call) map[string]any {
	out := map[string]any{"simulated": true}
	for _, f := range a.Outputs {
		if f.Name == "*" {
			continue // wildcard: the params are echoed below
		}
		switch f.Type {
		case catalog.TypeBool:
			out[f.Name] = true
		case catalog.TypeInt, catalog.TypeNumber:
			out[f.Name] = 0
		case catalog.TypeList:
			out[f.Name] = []any{}
		case catalog.TypeObject:
			out[f.Name] = map[string]any{}
		default:
			out[f.Name] = "simulated-" + f.Name
		}
	}
	for k, v := range call.Params {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// heartbeat records a heartbeat every few seconds until stopped, with the
// progress details the handler saved, if any.
func heartbeat(ctx context.Context, progress *connector.Progress) func() {
	// A local activity cannot heartbeat (the SDK drops it): no goroutine.
	if !activity.IsActivity(ctx) || activity.GetInfo(ctx).IsLocalActivity {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				// Re-send what the handler saved (connector.SaveProgress):
				// a heartbeat without details would drop it.
				if d, ok := progress.Details(); ok {
					activity.RecordHeartbeat(ctx, d)
				} else {
					activity.RecordHeartbeat(ctx)
				}
			}
		}
	}()
	// Stopping waits for a heartbeat in flight: one sent after the
	// caller's own last heartbeat (a checked call's attemptRecord) would
	// replace it.
	return func() {
		close(done)
		<-exited
	}
}
