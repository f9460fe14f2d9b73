// Package core holds the built-in actions that need no vendor: core.noop,
// core.log, core.sleep and core.fail.
package core

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// Definitions are the built-in actions that need no vendor.
func Definitions() []connector.Definition {
	return []connector.Definition{
		{
			Action: catalog.Action{
				Name:        "core.noop",
				Vendor:      "core",
				Description: "Does nothing and returns its params as output. Useful to shape data or as a placeholder.",
				Risk:        catalog.RiskRead,
				AnyParams:   true,
				Params:      []catalog.Param{},
				Outputs:     []catalog.Field{{Name: "*", Type: catalog.TypeAny, Description: "Every param, as given."}},
			},
			Run: func(_ context.Context, _ *connector.Env, call connector.Call) (map[string]any, error) {
				out := make(map[string]any, len(call.Params))
				for k, v := range call.Params {
					out[k] = v
				}
				return out, nil
			},
		},
		{
			Action: catalog.Action{
				Name:        "core.log",
				Vendor:      "core",
				Description: "Writes a message to the worker log and the run's history.",
				Risk:        catalog.RiskRead,
				Params: []catalog.Param{
					{Name: "message", Type: catalog.TypeString, Required: true, Description: "Text to log."},
					{Name: "level", Type: catalog.TypeString, Description: "debug, info (default), warn or error.", Enum: []string{"debug", "info", "warn", "error"}},
				},
				Outputs: []catalog.Field{{Name: "message", Type: catalog.TypeString, Description: "The message logged."}},
			},
			Run: func(ctx context.Context, env *connector.Env, call connector.Call) (map[string]any, error) {
				msg := fmt.Sprint(call.Params["message"])
				logger := activity.GetLogger(ctx)
				switch call.Params["level"] {
				case "debug":
					logger.Debug(msg, "step", call.StepID)
				case "warn":
					logger.Warn(msg, "step", call.StepID)
				case "error":
					logger.Error(msg, "step", call.StepID)
				default:
					logger.Info(msg, "step", call.StepID)
				}
				return map[string]any{"message": msg}, nil
			},
		},
		{
			Action: catalog.Action{
				Name:        "core.sleep",
				Vendor:      "core",
				Description: "Waits for a duration (at most 1h), then succeeds. For drills and tests of timeouts and restarts.",
				Risk:        catalog.RiskRead,
				Params: []catalog.Param{
					{Name: "duration", Type: catalog.TypeString, Required: true, Description: "How long to wait, e.g. 500ms, 5s, 2m."},
				},
				Outputs: []catalog.Field{{Name: "slept", Type: catalog.TypeString, Description: "The duration waited."}},
			},
			Run: func(ctx context.Context, _ *connector.Env, call connector.Call) (map[string]any, error) {
				d, err := time.ParseDuration(fmt.Sprint(call.Params["duration"]))
				if err != nil || d < 0 || d > time.Hour {
					return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("core.sleep: duration %v must be between 0 and 1h (e.g. 5s)", call.Params["duration"]), connector.KindInvalidParams, nil)
				}
				t := time.NewTimer(d)
				defer t.Stop()
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-t.C:
				}
				return map[string]any{"slept": d.String()}, nil
			},
		},
		{
			Action: catalog.Action{
				Name:        "core.fail",
				Vendor:      "core",
				Description: "Always fails. For tests and drills of on_failure and retry.",
				Risk:        catalog.RiskRead,
				Params: []catalog.Param{
					{Name: "message", Type: catalog.TypeString, Required: true, Description: "Error message."},
					{Name: "retryable", Type: catalog.TypeBool, Description: "Whether Temporal should retry (default false)."},
				},
				Outputs: []catalog.Field{},
			},
			Run: func(_ context.Context, _ *connector.Env, call connector.Call) (map[string]any, error) {
				msg := fmt.Sprint(call.Params["message"])
				if r, _ := call.Params["retryable"].(bool); r {
					return nil, temporal.NewApplicationError(msg, "CoreFail")
				}
				return nil, temporal.NewNonRetryableApplicationError(msg, "CoreFail", nil)
			},
		},
	}
}
