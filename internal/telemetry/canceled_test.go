package telemetry_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

const slowPlaybook = `apiVersion: riposte/v1
name: slow-lookup
version: 1
trigger: {when: "true"}
steps:
  - id: ticket
    action: core.noop
    approval: {approvers: {users: [UBOB]}, timeout: 6h, on_timeout: deny}
`

// slowPlaybook waits 6h for a decision; the run is cancelled at 1m.
// riposte_runs_finished_total{status="canceled"} is documented (README,
// the metric's help) but a run cancelled by an operator (Temporal UI,
// `temporal workflow cancel`) was counted "succeeded": the interpreter
// handles the cancellation and returns its Result with no error (the
// holds stay in place and say so, TestCancelWhileHoldingEnds), so Temporal
// closes it Completed and the interceptor, which looked only at the
// returned error, took it for a success. A run whose cancellation was
// requested is a run canceled.
func TestRunsFinishedCountsACanceledRunAsCanceled(t *testing.T) {
	m := telemetry.NewMetrics(telemetry.MetricsOptions{NoRuntimeCollectors: true})
	var suite testsuite.WorkflowTestSuite
	suite.SetMetricsHandler(m.TemporalHandler())
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{
		telemetry.NewWorkerInterceptor(telemetry.WorkerInterceptorOptions{Metrics: m, Catalog: activities.Catalog(),
			IsPlaybookRun: workflows.IsPlaybookWorkflowType, PlaybookAttribute: workflows.SAPlaybookName.GetName()}),
	}})
	keys, err := signing.NewKeys("t1", map[string][]byte{"t1": []byte("test decision key, 32 bytes long")})
	if err != nil {
		t.Fatal(err)
	}
	in := workflows.NewInterpreter(activities.Catalog())
	in.Keys = keys
	workflows.Register(env, in)
	env.RegisterActivityWithOptions(func(_ context.Context, call catalog.Call) (map[string]any, error) {
		return call.Params, nil
	}, activity.RegisterOptions{Name: "core.noop"})
	env.RegisterActivityWithOptions(func(context.Context, workflows.GateRequest) (workflows.GateOpened, error) {
		return workflows.GateOpened{Approvers: []string{"UBOB"}, Channel: "CSEC", MessageTS: "1700000000.000001", Posted: true}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityOpenGate})
	env.RegisterActivityWithOptions(func(context.Context, workflows.GateUpdate) error { return nil },
		activity.RegisterOptions{Name: workflows.ActivityUpdateGate})
	if err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(workflows.SAPlaybookName.ValueSet("slow-lookup"))); err != nil {
		t.Fatal(err)
	}
	c, diags := playbook.LoadBytes("slow.yaml", []byte(slowPlaybook), activities.Catalog())
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Minute)
	env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest,
		Detection: map[string]any{"class_uid": 2004, "finding_info": map[string]any{"uid": "f1", "title": "t"}}, Rev: workflows.CurrentRev})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	t.Logf("the cancelled run returned: %v", env.GetWorkflowError())
	for status, want := range map[string]float64{"canceled": 1, "succeeded": 0, "failed": 0} {
		if got := finished(t, m, "slow-lookup", status); got != want {
			t.Errorf("%s{playbook=\"slow-lookup\",status=%q} = %v, want %v", telemetry.MetricRunsFinished, status, got, want)
		}
	}
}
