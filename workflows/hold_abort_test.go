package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
)

const holdThenAbortPlaybook = `apiVersion: riposte/v1
name: holdabort
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "h1"}
    approval: auto
    contain_for: 1h
  - id: boom
    action: core.fail
    needs: [isolate]
    with: {message: "no", retryable: false}
    retry: {max_attempts: 1}
  - id: keep
    action: core.noop
    needs: [isolate]
    timeout: 10m
    always: true
`

// A run that aborts while a later (always:) step still runs, after a
// hold began: watchHolds runs on the run's context, not the steps' (which
// the abort cancels), and releases the hold once, on time.
func TestHoldReleasedAfterAbort(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.env.SetTestTimeout(30 * time.Second)
	undo := 0
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		undo++
		return map[string]any{}, nil
	})
	h.action("core.fail", func(context.Context, catalog.Call) (map[string]any, error) {
		return nil, temporal.NewNonRetryableApplicationError("no", "X", nil)
	})
	h.action("core.noop", func(context.Context, catalog.Call) (map[string]any, error) {
		time.Sleep(1500 * time.Millisecond) // still running when boom fails
		return map[string]any{}, nil
	})
	res, err := h.run(compileYAML(t, holdThenAbortPlaybook), det)
	if res == nil {
		var pe *temporal.PanicError
		if errors.As(err, &pe) {
			t.Log(pe.StackTrace())
		}
		t.Fatalf("run ended without a result: %v", err)
	}
	if stepOf(res, "keep").Status != "succeeded" || stepOf(res, "boom").Status != "failed" {
		t.Errorf("steps %v", statuses(res))
	}
	if undo != 1 || len(res.Holds) != 1 || res.Holds[0].Error != "" {
		t.Errorf("undo calls %d, holds %+v; want the hold released once at 1h", undo, res.Holds)
	}
}
