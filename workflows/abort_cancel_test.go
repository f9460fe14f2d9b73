package workflows_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// abortParallelPlaybook: boom fails at once (on_failure: abort, the
// default) while slow and keep are running. Both run as regular activities
// (a timeout over a minute, workflows.LocalStep); keep is always:, so the
// abort must not cancel it. after (needs slow) must be skipped; last
// (always, needs slow) must run after the abort.
const abortParallelPlaybook = `apiVersion: riposte/v1
name: abort-parallel
version: 1
trigger: {when: "true"}
steps:
  - id: boom
    action: core.fail
    with: {message: "vendor said no", retryable: false}
    retry: {max_attempts: 1}
  - id: slow
    action: core.noop
    timeout: 10m
  - id: keep
    action: core.noop
    timeout: 10m
    always: true
  - id: after
    action: core.noop
    needs: [slow]
  - id: last
    action: core.noop
    needs: [slow]
    always: true
`

// TestAbortCancelsRunningSteps pins the README's "a step that fails with
// on_failure: abort cancels running steps, skips the steps not yet started
// (except always: ones), and the run fails": a parallel step still running
// when the failure happens has its activity cancelled (the activity sees it
// through its context, as on a worker whose heartbeat is answered with the
// cancellation) and is recorded failed as cancelled; a running always: step
// is not cancelled; a step not yet started is skipped unless always:.
func TestAbortCancelsRunningSteps(t *testing.T) {
	h := newHarness(t)
	// wait bounds every wait of the fakes: when the abort does not cancel
	// slow, it ends (succeeds) after it, and the test fails. Only a broken
	// abort waits that long, so it is generous for a loaded CI machine.
	const wait = 10 * time.Second
	h.env.SetTestTimeout(4 * wait)

	var mu sync.Mutex
	var cancelled []string // activity ids the workflow cancelled
	slowID := ""
	cancelRequested := make(chan struct{})
	var once sync.Once
	h.env.SetOnActivityCanceledListener(func(info *activity.Info) {
		mu.Lock()
		cancelled = append(cancelled, info.ActivityID)
		mu.Unlock()
		once.Do(func() { close(cancelRequested) })
	})
	sawCancel := make(chan error, 1)
	var ran []string

	// boom fails once slow and keep are running: an activity cancelled
	// before it starts never runs (as on a server, which does not dispatch
	// it), and the claim is about running steps.
	running := map[string]chan struct{}{"slow": make(chan struct{}), "keep": make(chan struct{})}
	failOnceStarted(t, h, &mu, running, wait)
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		mu.Lock()
		ran = append(ran, call.StepID)
		if ch, ok := running[call.StepID]; ok {
			delete(running, call.StepID) // closed once, should it be retried
			close(ch)
		}
		mu.Unlock()
		switch call.StepID {
		case "slow":
			if !activity.IsActivity(ctx) || activity.GetInfo(ctx).IsLocalActivity {
				t.Error("slow ran as a local activity; the test needs a regular (cancellable) one")
				return map[string]any{}, nil
			}
			mu.Lock()
			slowID = activity.GetInfo(ctx).ActivityID
			mu.Unlock()
			select {
			case <-cancelRequested:
			case <-time.After(wait):
				sawCancel <- errors.New("the workflow did not cancel the running step's activity")
				return map[string]any{"finished": true}, nil
			}
			// The next heartbeat is answered with the cancellation: the
			// SDK cancels the activity's context.
			activity.RecordHeartbeat(ctx)
			select {
			case <-ctx.Done():
				sawCancel <- nil
				return nil, ctx.Err()
			case <-time.After(wait):
				sawCancel <- errors.New("the activity's context was not cancelled")
				return map[string]any{"finished": true}, nil
			}
		case "keep":
			// Still running when the run aborts: it outlives the abort.
			select {
			case <-cancelRequested:
			case <-time.After(wait):
			}
			return map[string]any{"kept": true}, nil
		}
		return call.Params, nil
	})

	res, err := h.run(compileYAML(t, abortParallelPlaybook), det)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrRunFailed {
		t.Fatalf("run err = %v, want a RunFailed error", err)
	}
	if res.Status != workflows.RunFailed {
		t.Errorf("run status %s, want %s", res.Status, workflows.RunFailed)
	}
	wantStatuses(t, res, map[string]string{
		"boom": "failed", "slow": "failed", "keep": "succeeded", "after": "skipped", "last": "succeeded",
	})
	if e := stepOf(res, "slow").Error; !strings.HasPrefix(e, "cancelled: step boom failed") {
		t.Errorf("slow's error = %q, want it cancelled by boom's failure", e)
	}
	if r := stepOf(res, "after").Reason; !strings.HasPrefix(r, "run aborted: step boom failed") {
		t.Errorf("after's reason = %q, want skipped because the run aborted", r)
	}
	if out, _ := stepOf(res, "keep").Output.(map[string]any); out["kept"] != true {
		t.Errorf("keep's output = %v", stepOf(res, "keep").Output)
	}

	select {
	case e := <-sawCancel:
		if e != nil {
			t.Error(e)
		}
	case <-time.After(2 * wait):
		t.Error("slow's activity never ended")
	}
	mu.Lock()
	defer mu.Unlock()
	if slowID == "" || len(cancelled) != 1 || cancelled[0] != slowID {
		t.Errorf("cancelled activities %v, want only slow's (%q): keep is always: and must not be cancelled", cancelled, slowID)
	}
	for _, id := range ran {
		if id == "after" {
			t.Errorf("after ran after the abort (ran %v)", ran)
		}
	}
}

// failOnceStarted registers core.fail as an action that fails for good once
// every call named in running has started (closed its channel; running is
// read under mu), or after wait: an abort is then sure to find them running.
func failOnceStarted(t *testing.T, h *harness, mu *sync.Mutex, running map[string]chan struct{}, wait time.Duration) {
	h.action("core.fail", func(context.Context, catalog.Call) (map[string]any, error) {
		mu.Lock()
		waits := maps.Clone(running)
		mu.Unlock()
		for id, ch := range waits {
			select {
			case <-ch:
			case <-time.After(wait):
				t.Errorf("%s did not start", id)
			}
		}
		return nil, temporal.NewNonRetryableApplicationError("vendor said no", "Fail", nil)
	})
}
