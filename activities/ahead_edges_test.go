package activities_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

// A call cancelled while its own action runs (the run aborted: a sibling
// step failed, or the run was cancelled) must not start the next step:
// the SDK has already reported the call cancelled to the workflow, which
// records the next step as skipped, so an action run here would be one
// the run never shows.
func TestWithAheadCancelledCallDoesNotRunNext(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	own := func(context.Context, catalog.Call) (map[string]any, error) {
		cancel() // the cancellation arrives as the vendor answers
		return map[string]any{"key": "SEC-7"}, nil
	}
	ran := false
	next := func(string) (activities.ActionFunc, bool) {
		return func(context.Context, catalog.Call) (map[string]any, error) {
			ran = true // e.g. core.* or a handler that acts before its first ctx check
			return map[string]any{}, nil
		}, true
	}
	fn := activities.WithAhead(own, next)
	out, _ := fn(ctx, catalog.Call{Action: "jira.create_issue", StepID: "ticket", Ahead: &catalog.Ahead{
		Call: catalog.Call{Action: "pagerduty.trigger", StepID: "notify", Index: -1}, Timeout: time.Minute,
		Render: func(prev map[string]any) (map[string]any, error) { return map[string]any{}, nil },
	}})
	if ran {
		t.Errorf("the next step's action ran after the call was cancelled (result %+v)", out[catalog.AheadKey])
	}
}

// riposte_step_duration_seconds counts an attempt of the ticket's action
// and, separately, the notification run ahead in its call: the ticket's
// attempt must not include the notification's time too.
func TestWithAheadMetricsOwnDurationOnly(t *testing.T) {
	m := telemetry.NewMetrics(telemetry.MetricsOptions{NoRuntimeCollectors: true})
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{
		telemetry.NewWorkerInterceptor(telemetry.WorkerInterceptorOptions{Metrics: m, Catalog: activities.Catalog(),
			IsPlaybookRun: func(string) bool { return true }, PlaybookAttribute: "PlaybookName"}),
	}})
	own := func(context.Context, catalog.Call) (map[string]any, error) {
		return map[string]any{"key": "SEC-1"}, nil
	}
	next := func(string) (activities.ActionFunc, bool) {
		return func(context.Context, catalog.Call) (map[string]any, error) {
			time.Sleep(300 * time.Millisecond) // a slow pager
			return map[string]any{}, nil
		}, true
	}
	fn := activities.WithAhead(own, next)
	env.RegisterActivityWithOptions(func(ctx context.Context, call catalog.Call) (map[string]any, error) { return fn(ctx, call) },
		activity.RegisterOptions{Name: "jira.create_issue"})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 2 * time.Minute})
		return workflow.ExecuteLocalActivity(ctx, "jira.create_issue", catalog.Call{Action: "jira.create_issue", StepID: "ticket", Index: -1,
			Ahead: &catalog.Ahead{Call: catalog.Call{Action: "pagerduty.trigger", StepID: "notify", Index: -1}, Timeout: time.Minute,
				Render: func(map[string]any) (map[string]any, error) { return map[string]any{}, nil }}}).Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "riposte.playbook"})
	env.ExecuteWorkflow("riposte.playbook")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, mm := range fams["riposte_step_duration_seconds"].GetMetric() {
		for _, l := range mm.GetLabel() {
			if l.GetName() == "action" {
				sums[l.GetValue()] += mm.GetHistogram().GetSampleSum()
			}
		}
	}
	if sums["pagerduty.trigger"] < 0.3 {
		t.Errorf("pagerduty.trigger attempt %.3fs, want its 0.3s", sums["pagerduty.trigger"])
	}
	if sums["jira.create_issue"] >= 0.3 {
		t.Errorf("jira.create_issue attempt counted %.3fs: it includes the notification run ahead (%.3fs)", sums["jira.create_issue"], sums["pagerduty.trigger"])
	}
}
