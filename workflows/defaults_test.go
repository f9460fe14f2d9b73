package workflows_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// for_each runs at most `concurrency` items at once, 4 when the step says
// nothing (README, "Playbook format"), and every item runs.
func TestForEachConcurrency(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int32
	}{
		{"", 4},
		{"    concurrency: 2\n", 2},
		{"    concurrency: 1\n", 1},
	} {
		h := newHarness(t)
		h.env.SetTestTimeout(time.Minute)
		var inFlight, most, calls atomic.Int32
		h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			calls.Add(1)
			// Hold the slot until as many calls as the limit run at once, or
			// every item has started (the last, partial round), so that how
			// many overlap does not depend on the machine's speed; 10 s
			// bounds it should the limit be lower than it should.
			for deadline := time.Now().Add(10 * time.Second); inFlight.Load() < tc.want && calls.Load() < 10 && time.Now().Before(deadline); {
				time.Sleep(2 * time.Millisecond)
			}
			time.Sleep(5 * time.Millisecond)
			return map[string]any{}, nil
		})
		c := compileYAML(t, `apiVersion: riposte/v1
name: each
version: 1
trigger: {when: "true"}
steps:
  - id: block
    action: core.noop
    for_each: ${{ [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }}
`+tc.line+`    with: {n: "${{ item }}"}
`)
		if _, err := h.run(c, det); err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 10 || most.Load() != tc.want {
			t.Errorf("concurrency %q: %d calls, at most %d at once; want 10 and %d", tc.line, calls.Load(), most.Load(), tc.want)
		}
	}
}

// A step's time per attempt: 5 min for a regular activity (a containment)
// and 1 min for a local step when the step says nothing, the step's own
// `timeout:` otherwise (README, "Playbook format" and "Execution model").
func TestStepTimeoutDefaults(t *testing.T) {
	for _, tc := range []struct {
		line                string
		contain, localLimit time.Duration
	}{
		{"", 5 * time.Minute, time.Minute},
		{"    timeout: 30s\n", 30 * time.Second, 30 * time.Second},
	} {
		h := newHarness(t)
		h.rev = workflows.LatestRev // the guardrail check inside the containment's call
		got := map[string]time.Duration{}
		var mu sync.Mutex
		record := func(name string) func(context.Context, catalog.Call) (map[string]any, error) {
			return func(ctx context.Context, _ catalog.Call) (map[string]any, error) {
				mu.Lock()
				defer mu.Unlock()
				got[name] = activity.GetInfo(ctx).StartToCloseTimeout
				return map[string]any{}, nil
			}
		}
		h.action("core.noop", record("local"))
		h.action("crowdstrike.contain_host", record("contain"))
		c := compileYAML(t, `apiVersion: riposte/v1
name: timeouts
version: 1
trigger: {when: "true"}
steps:
  - id: note
    action: core.noop
`+tc.line+`  - id: isolate
    action: crowdstrike.contain_host
    needs: [note]
    approval: auto
`+tc.line+`    with: {hostname: h}
`)
		res, err := h.run(c, det)
		if err != nil {
			t.Fatal(err)
		}
		wantStatuses(t, res, map[string]string{"note": "succeeded", "isolate": "succeeded"})
		if got["contain"] != tc.contain || got["local"] != tc.localLimit {
			t.Errorf("timeout line %q: contain step %s, local step %s per attempt; want %s and %s", tc.line, got["contain"], got["local"], tc.contain, tc.localLimit)
		}
	}
}
