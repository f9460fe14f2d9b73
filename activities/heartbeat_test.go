package activities_test

import (
	"sync/atomic"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
)

// README, Execution model: steps that run as regular activities (contain
// steps, long steps) heartbeat, so that Temporal retries an attempt whose
// worker died within the step's heartbeat timeout (20 s) and not after
// its whole timeout, and does not time out an attempt that is still
// working. An action the worker registers heartbeats every few seconds
// while its handler runs: a call of 6 s sends at least one.
func TestRegisteredActionsHeartbeat(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 6 s for a heartbeat")
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	var beats atomic.Int32
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats.Add(1) })
	activities.Register(env, activities.NewEnv(nil))
	_, err := env.ExecuteActivity("core.sleep", catalog.Call{Action: "core.sleep", Params: map[string]any{"duration": "6s"}, WorkflowID: "w", StepID: "wait"})
	if err != nil {
		t.Fatal(err)
	}
	if beats.Load() == 0 {
		t.Error("a 6 s call sent no heartbeat: with the 20 s heartbeat timeout, a longer call would be timed out and retried while it still runs (a containment sent twice)")
	}
}
