// Package activities holds Riposte's side effects: one file per integration,
// each contributing catalog entries and their implementations. Catalog()
// is the one explicit list of actions; Register puts them on a worker.
package activities

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// Call is the input of every action activity (see catalog.Call).
type Call = catalog.Call

// Handler implements one action.
type Handler func(ctx context.Context, env *Env, call Call) (map[string]any, error)

// Definition is one catalog entry with its implementation.
type Definition struct {
	catalog.Action
	Run Handler
}

// Env is what handlers share: configuration, HTTP client, logger.
type Env struct {
	HTTP   *http.Client
	Logger *slog.Logger
	// Connections holds the configured vendor connections by name.
	Connections map[string]Connection
	// Slack posts slack.* actions; nil when Slack is not configured.
	Slack *SlackPoster
	// CallTimeout bounds each vendor HTTP request, on top of the activity's
	// own deadline (default 30s).
	CallTimeout time.Duration
	// MaxRetryDelay caps the wait a vendor's rate-limit headers may ask
	// for before Temporal retries (default 5m).
	MaxRetryDelay time.Duration

	// tokens caches OAuth2 bearer tokens per connection, in process only.
	tokens *tokenCache
}

// Connection is a configured vendor endpoint. Secret values are read from
// env vars or files only when a handler needs them.
type Connection struct {
	Type    string
	BaseURL string
	Options map[string]string
	Secrets map[string]SecretRef
}

// SecretRef points at a secret without holding it: an env var name or a
// file path, resolved by the handler at call time (see Resolve).
type SecretRef struct {
	Env  string
	File string
	// Lab holds a literal value. It exists ONLY for the fake vendor lab
	// (internal/lab), whose credentials are public test constants; the
	// config loader never produces it.
	Lab string
}

// NewEnv returns an Env with sane defaults.
func NewEnv(logger *slog.Logger) *Env {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Env{
		HTTP:          &http.Client{Timeout: 30 * time.Second},
		Logger:        logger,
		Connections:   map[string]Connection{},
		CallTimeout:   defaultCallTimeout,
		MaxRetryDelay: defaultMaxRetryDelay,
		tokens:        newTokenCache(),
	}
}

// Definitions is the one explicit list of actions Riposte ships.
func Definitions() []Definition {
	var defs []Definition
	defs = append(defs, coreDefinitions()...)
	defs = append(defs, slackDefinitions()...)
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

// Register registers every action as an activity named after it.
func Register(w worker.ActivityRegistry, env *Env) {
	for _, d := range Definitions() {
		w.RegisterActivityWithOptions(wrap(d, env), activity.RegisterOptions{Name: d.Name})
	}
}

// wrap adds what every action shares: dry-run simulation.
func wrap(d Definition, env *Env) func(context.Context, Call) (map[string]any, error) {
	return func(ctx context.Context, call Call) (map[string]any, error) {
		if call.DryRun && d.Risk != catalog.RiskRead {
			return Simulate(&d.Action, call), nil
		}
		// Heartbeat while the handler runs, so Temporal notices a dead
		// worker within the step's heartbeat timeout.
		stop := heartbeat(ctx)
		defer stop()
		// Handlers return errors with their own context; the step id and
		// action are already on the activity, so nothing is added here.
		return d.Run(ctx, env, call)
	}
}

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

// NonRetryable marks an error that retrying cannot fix (bad input, 4xx).
func NonRetryable(errType, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), errType, nil)
}

// heartbeat records a heartbeat every few seconds until stopped.
func heartbeat(ctx context.Context) func() {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}
