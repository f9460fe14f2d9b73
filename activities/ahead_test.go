package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
)

// A call with Ahead runs the next step after its own action succeeded,
// from the output as the run decodes it, and reports how it went under
// AheadKey; its own action keeps to its own part of the call's time; it
// never fails because of the next step.
func TestWithAhead(t *testing.T) {
	own := func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		if call.Params["fail"] == true {
			return nil, errors.New("own action failed")
		}
		dl, _ := ctx.Deadline()
		return map[string]any{"key": "SEC-7", "n": 3, "left": time.Until(dl).Round(time.Minute).String()}, nil
	}
	nexts := map[string]activities.ActionFunc{
		"page.ok": func(ctx context.Context, call catalog.Call) (map[string]any, error) {
			return map[string]any{"got": call.Params["text"], "step": call.StepID}, nil
		},
		"page.fail": func(ctx context.Context, call catalog.Call) (map[string]any, error) {
			return nil, errors.New("503 from the vendor")
		},
		"page.slow": func(ctx context.Context, call catalog.Call) (map[string]any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
	}
	lookup := func(a string) (activities.ActionFunc, bool) { f, ok := nexts[a]; return f, ok }
	render := func(prev map[string]any) (map[string]any, error) {
		n, ok := prev["n"].(float64) // as decoded from the history
		if !ok {
			return nil, errors.New("n is not a JSON number")
		}
		return map[string]any{"text": prev["key"].(string), "n": n}, nil
	}
	fn := activities.WithAhead(own, lookup)
	for _, tc := range []struct {
		name, action string
		timeout      time.Duration
		render       func(map[string]any) (map[string]any, error)
		status       string
	}{
		{"succeeds", "page.ok", time.Minute, render, "succeeded"},
		{"fails", "page.fail", time.Minute, render, "failed"},
		{"times out", "page.slow", 20 * time.Millisecond, render, "timed_out"},
		{"not registered", "page.gone", time.Minute, render, "skipped"},
		{"params do not render", "page.ok", time.Minute, func(map[string]any) (map[string]any, error) { return nil, errors.New("no such field") }, "skipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute+tc.timeout)
			defer cancel()
			out, err := fn(ctx, catalog.Call{Action: "ticket.create", StepID: "ticket", Ahead: &catalog.Ahead{
				Call: catalog.Call{Action: tc.action, StepID: "notify", Index: -1}, Timeout: tc.timeout, Render: tc.render,
			}})
			if err != nil {
				t.Fatal(err)
			}
			if out["key"] != "SEC-7" || out["left"] != "3m0s" {
				t.Errorf("own output %v: want the key, and 3m left of the call's time for the own action", out)
			}
			res, ok := out[catalog.AheadKey].(catalog.AheadResult)
			if !ok {
				t.Fatalf("no AheadResult in %v", out)
			}
			if res.Status != tc.status || res.Step != "notify" || res.Action != tc.action || res.EndedAt.Before(res.StartedAt) {
				t.Errorf("result %+v, want status %s", res, tc.status)
			}
			if tc.status == "succeeded" {
				if res.Output["got"] != "SEC-7" || res.Output["step"] != "notify" || res.Params["n"] != 3.0 || res.Error != "" {
					t.Errorf("result %+v", res)
				}
			} else if res.Error == "" || res.Output != nil {
				t.Errorf("result %+v: want an error and no output", res)
			}
		})
	}
	// The own action's failure is the call's: nothing runs ahead.
	out, err := fn(t.Context(), catalog.Call{Params: map[string]any{"fail": true}, Ahead: &catalog.Ahead{Call: catalog.Call{Action: "page.ok"}, Timeout: time.Minute, Render: render}})
	if err == nil || out != nil {
		t.Errorf("own failure: %v, %v", out, err)
	}
	// Without Ahead the action runs as it is.
	out, err = fn(t.Context(), catalog.Call{})
	if _, ok := out[catalog.AheadKey]; err != nil || ok {
		t.Errorf("without Ahead: %v, %v", out, err)
	}
}
