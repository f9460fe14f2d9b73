package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

const heartbeatRule = `apiVersion: riposte/v1
name: heartbeats
version: 1
trigger: {when: "true"}
steps:
  - id: enrich
    action: core.noop
    with: {x: 1}
  - id: slow_lookup
    action: virustotal.ip_report
    needs: [enrich]
    with: {ip: 203.0.113.7}
    timeout: 5m
  - id: isolate
    action: defender.isolate_machine
    needs: [slow_lookup]
    with: {hostname: "h1"}
    approval: auto
  - id: quick_isolate
    action: crowdstrike.contain_host
    needs: [isolate]
    with: {hostname: "h1"}
    approval: auto
    timeout: 10s
`

// README, Execution model, "Local steps": a contain step and a step whose
// timeout is over a minute run as regular activities with a heartbeat
// timeout (an attempt on a worker that died is retried within
// ActionHeartbeatTimeout, 20 s, not after the step's whole timeout); a
// short read/notify/core step is a local activity of 1 min per attempt.
// What each call is given is read from inside the call, as the SDK hands
// it to the action.
func TestStepCallOptionsFollowTheRule(t *testing.T) {
	type seen struct {
		local     bool
		heartbeat time.Duration
	}
	var mu sync.Mutex
	got := map[string]seen{}
	rec := func(step string) func(context.Context, catalog.Call) (map[string]any, error) {
		return func(ctx context.Context, call catalog.Call) (map[string]any, error) {
			info := activity.GetInfo(ctx)
			mu.Lock()
			got[step] = seen{local: info.IsLocalActivity, heartbeat: info.HeartbeatTimeout}
			mu.Unlock()
			return call.Params, nil
		}
	}
	h, _ := outcomeHarness(t, false)
	h.rev = workflows.LatestRev
	h.action("core.noop", rec("enrich"))
	h.action("virustotal.ip_report", rec("slow_lookup"))
	h.action("defender.isolate_machine", rec("isolate"))
	h.action("crowdstrike.contain_host", rec("quick_isolate"))
	res, err := h.run(compileYAML(t, heartbeatRule), det)
	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, res, map[string]string{"enrich": "succeeded", "slow_lookup": "succeeded", "isolate": "succeeded", "quick_isolate": "succeeded"})
	if workflows.ActionHeartbeatTimeout != 20*time.Second {
		t.Errorf("ActionHeartbeatTimeout %v; docs/operations.md and the alerts assume 20s", workflows.ActionHeartbeatTimeout)
	}
	for step, want := range map[string]seen{
		"enrich":        {local: true},
		"slow_lookup":   {heartbeat: workflows.ActionHeartbeatTimeout},
		"isolate":       {heartbeat: workflows.ActionHeartbeatTimeout},
		"quick_isolate": {heartbeat: 10 * time.Second}, // never longer than the step's own timeout
	} {
		if g, ok := got[step]; !ok || g != want {
			t.Errorf("step %s called as %+v (seen %v), want %+v", step, g, ok, want)
		}
	}
}
