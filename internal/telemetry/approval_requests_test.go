package telemetry

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// testOpened stands in for workflows.GateOpened.
type testOpened struct{ Posted bool }

func (o testOpened) ApprovalPosted() bool { return o.Posted }

// An approval request Slack refused leaves approvers unasked: every attempt
// to post one is counted by result, so an alert can say so
// (RiposteApprovalRequestsFailing).
func TestWorkerInterceptorCountsApprovalRequests(t *testing.T) {
	m := NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{
		NewWorkerInterceptor(WorkerInterceptorOptions{Metrics: m, Catalog: testCatalog, ApprovalRequestActivity: "riposte.approval.open"}),
	}})
	env.RegisterActivityWithOptions(func(_ context.Context, what string) (testOpened, error) {
		switch what {
		case "fail":
			return testOpened{}, temporal.NewNonRetryableApplicationError("slack chat.postMessage: channel_not_found", "SlackRejected", nil)
		case "none":
			return testOpened{Posted: false}, nil
		}
		return testOpened{Posted: true}, nil
	}, activity.RegisterOptions{Name: "riposte.approval.open"})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
		for _, what := range []string{"post", "post", "none", "fail"} {
			_ = workflow.ExecuteActivity(ctx, "riposte.approval.open", what).Get(ctx, nil)
		}
		return nil
	}, workflow.RegisterOptions{Name: "gates"})
	env.ExecuteWorkflow("gates")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, m.Handler())
	wantValue(t, fams, "riposte_approval_requests_total", "result=posted", 2)
	wantValue(t, fams, "riposte_approval_requests_total", "result=not_configured", 1)
	wantValue(t, fams, "riposte_approval_requests_total", "result=failed", 1)
}
