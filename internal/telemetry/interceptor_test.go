package telemetry

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	dto "github.com/prometheus/client_model/go"

	"github.com/riposte-dev/riposte/internal/catalog"
)

var testCatalog = catalog.MustNew(
	catalog.Action{Name: "test.lookup", Risk: catalog.RiskRead, AnyParams: true, Description: "lookup"},
	catalog.Action{Name: "test.isolate", Risk: catalog.RiskContain, AnyParams: true, Undo: "test.lookup", Description: "isolate"},
)

// seen records the activity fields activities found in their context.
type seen struct {
	mu     sync.Mutex
	fields []ActivityFields
}

func (s *seen) add(f ActivityFields) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fields = append(s.fields, f)
}

func testActivity(s *seen) func(ctx context.Context, call catalog.Call) (map[string]any, error) {
	return func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		f, _ := ActivityFromContext(ctx)
		s.add(f)
		activity.GetLogger(ctx).Info("acting", "action", call.Action)
		if call.Params["fail"] == true {
			return nil, temporal.NewNonRetryableApplicationError("vendor said no", "Vendor", nil)
		}
		return map[string]any{"ok": true}, nil
	}
}

// testPlaybook stands in for the interpreter: three action calls, a
// guardrail decision and an approval decision from workflow code.
func testPlaybook(ctx workflow.Context, fail bool) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
	info := workflow.GetInfo(ctx)
	call := func(activityType, step string, index int, dryRun bool, params map[string]any) error {
		return workflow.ExecuteActivity(ctx, activityType, catalog.Call{Action: catalog.ActionOfActivity(activityType), Params: params,
			WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, StepID: step, Index: index, DryRun: dryRun}).Get(ctx, nil)
	}
	if err := call("test.lookup", "lookup", -1, false, nil); err != nil {
		return err
	}
	RecordGuardrailDecision(ctx, "protected_asset", "gate")
	opened := workflow.Now(ctx)
	_ = workflow.Sleep(ctx, 90*time.Second)
	RecordApprovalDecision(ctx, "approved", workflow.Now(ctx).Sub(opened))
	if err := call("test.isolate", "isolate", 0, true, nil); err != nil {
		return err
	}
	// As a call that checks the guardrails itself (its own activity type):
	// counted under its action.
	return call(catalog.CheckedActivity("test.isolate"), "isolate", 1, false, map[string]any{"fail": fail})
}

func runTestPlaybook(t *testing.T, m *Metrics, logs *bytes.Buffer, s *seen, fail bool) error {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetMetricsHandler(m.TemporalHandler())
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(logs, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{
		NewWorkerInterceptor(WorkerInterceptorOptions{Metrics: m, Catalog: testCatalog,
			IsPlaybookRun: func(n string) bool { return n == testPlaybookWorkflow }, PlaybookAttribute: testPlaybookAttribute}),
	}})
	env.RegisterWorkflowWithOptions(testPlaybook, workflow.RegisterOptions{Name: testPlaybookWorkflow})
	env.RegisterActivityWithOptions(testActivity(s), activity.RegisterOptions{Name: "test.lookup"})
	env.RegisterActivityWithOptions(testActivity(s), activity.RegisterOptions{Name: "test.isolate"})
	env.RegisterActivityWithOptions(testActivity(s), activity.RegisterOptions{Name: catalog.CheckedActivity("test.isolate")})
	env.RegisterActivityWithOptions(func(ctx context.Context) error { return nil }, activity.RegisterOptions{Name: "riposte.approval.open"})
	if err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
		temporal.NewSearchAttributeKeyKeyword(testPlaybookAttribute).ValueSet("contain-test"))); err != nil {
		t.Fatal(err)
	}
	env.ExecuteWorkflow(testPlaybookWorkflow, fail)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	return env.GetWorkflowError()
}

func TestWorkerInterceptorMetrics(t *testing.T) {
	m := NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	var logs bytes.Buffer
	var s seen
	if err := runTestPlaybook(t, m, &logs, &s, false); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	err := runTestPlaybook(t, m, &logs, &s, true)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !strings.Contains(ae.Error(), "vendor said no") {
		t.Fatalf("failing run: %v", err)
	}

	fams := scrape(t, m.Handler())
	if c := histCount(fams, "riposte_step_duration_seconds", "action=test.lookup,status=succeeded"); c != 2 {
		t.Errorf("lookup attempts = %d, want 2", c)
	}
	if c := histCount(fams, "riposte_step_duration_seconds", "action=test.isolate,status=succeeded"); c != 3 {
		t.Errorf("isolate succeeded attempts = %d, want 3", c)
	}
	if c := histCount(fams, "riposte_step_duration_seconds", "action=test.isolate,status=failed"); c != 1 {
		t.Errorf("isolate failed attempts = %d, want 1", c)
	}
	wantValue(t, fams, "riposte_containment_actions_total", "action=test.isolate,outcome=simulated", 2)
	wantValue(t, fams, "riposte_containment_actions_total", "action=test.isolate,outcome=succeeded", 1)
	wantValue(t, fams, "riposte_containment_actions_total", "action=test.isolate,outcome=failed", 1)
	if _, ok := series(t, fams, "riposte_containment_actions_total")["action=test.lookup,outcome=succeeded"]; ok {
		t.Error("a read action was counted as containment")
	}
	wantValue(t, fams, "riposte_runs_finished_total", "playbook=contain-test,status=succeeded", 1)
	wantValue(t, fams, "riposte_runs_finished_total", "playbook=contain-test,status=failed", 1)
	wantValue(t, fams, "riposte_guardrail_decisions_total", "decision=gate,rule=protected_asset", 2)
	wantHistogram(t, fams, "riposte_approval_decision_seconds", "decision=approved", 2, 180)
	// Activities saw their identity in the context, and their SDK logger
	// carries the step.
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fields) != 6 {
		t.Fatalf("activity calls = %d", len(s.fields))
	}
	f := s.fields[2]
	if f.Step != "isolate" || f.Index != 1 || f.Action != "test.isolate" || f.WorkflowID == "" || f.RunID == "" || f.Attempt != 1 {
		t.Errorf("activity fields = %+v", f)
	}
	out := logs.String()
	for _, want := range []string{"step=lookup", "step=isolate index=1", "WorkflowID="} {
		if !strings.Contains(out, want) {
			t.Errorf("activity log lacks %q:\n%s", want, out)
		}
	}
}

func histCount(fams map[string]*dto.MetricFamily, name, labels string) uint64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	for _, m := range f.GetMetric() {
		if labelsOf(m) == labels && m.Histogram != nil {
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func TestWorkerInterceptorWithoutMetrics(t *testing.T) {
	// No Metrics: logging context only, nothing panics; non-playbook
	// workflows are not counted.
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{NewWorkerInterceptor(WorkerInterceptorOptions{})}})
	var s seen
	env.RegisterActivityWithOptions(testActivity(&s), activity.RegisterOptions{Name: "test.lookup"})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		return workflow.ExecuteActivity(ctx, "test.lookup", catalog.Call{Action: "test.lookup", StepID: "s1", Index: -1}).Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "other"})
	env.ExecuteWorkflow("other")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(s.fields) != 1 || s.fields[0].Step != "s1" {
		t.Errorf("fields = %+v", s.fields)
	}
}

// The names package workflows gives the interceptor (see cli/runtime.go).
const (
	testPlaybookWorkflow  = "riposte.playbook"
	testPlaybookAttribute = "PlaybookName"
)

// The next step a local call ran ahead (catalog.Ahead, activities.WithAhead
// records it) is counted as an attempt of its own action, with its own
// status.
func TestWorkerInterceptorCountsStepRunAhead(t *testing.T) {
	m := NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{
		NewWorkerInterceptor(WorkerInterceptorOptions{Metrics: m, Catalog: testCatalog,
			IsPlaybookRun: func(n string) bool { return n == testPlaybookWorkflow }, PlaybookAttribute: testPlaybookAttribute}),
	}})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
		for _, status := range []string{"succeeded", "timed_out"} {
			if err := workflow.ExecuteLocalActivity(ctx, "test.lookup", catalog.Call{Action: "test.lookup", StepID: status}).Get(ctx, nil); err != nil {
				return err
			}
		}
		return nil
	}, workflow.RegisterOptions{Name: "ahead"})
	env.RegisterActivityWithOptions(func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		RecordStepRunAhead(ctx, "test.isolate", call.StepID, time.Second)
		return map[string]any{}, nil
	}, activity.RegisterOptions{Name: "test.lookup"})
	env.ExecuteWorkflow("ahead")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, m.Handler())
	if c := histCount(fams, "riposte_step_duration_seconds", "action=test.lookup,status=succeeded"); c != 2 {
		t.Errorf("lookup attempts = %d, want 2", c)
	}
	for _, status := range []string{"succeeded", "timed_out"} {
		if c := histCount(fams, "riposte_step_duration_seconds", "action=test.isolate,status="+status); c != 1 {
			t.Errorf("isolate %s attempts run ahead = %d, want 1", status, c)
		}
	}
}

type recordedResult struct{ BeforeStart bool }

func (r *recordedResult) RecordsWithdrawal() bool { return r.BeforeStart }

// A run started only to record a withdrawal (workflows.Result with
// Withdrawn.BeforeStart) is not a run that finished; every other run is.
func TestWorkerInterceptorSkipsRecordedWithdrawal(t *testing.T) {
	m := NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	for _, beforeStart := range []bool{true, false} {
		var suite testsuite.WorkflowTestSuite
		suite.SetMetricsHandler(m.TemporalHandler())
		env := suite.NewTestWorkflowEnvironment()
		env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{
			NewWorkerInterceptor(WorkerInterceptorOptions{Metrics: m, Catalog: testCatalog,
				IsPlaybookRun: func(n string) bool { return n == testPlaybookWorkflow }, PlaybookAttribute: testPlaybookAttribute}),
		}})
		env.RegisterWorkflowWithOptions(func(ctx workflow.Context) (*recordedResult, error) {
			return &recordedResult{BeforeStart: beforeStart}, nil
		}, workflow.RegisterOptions{Name: testPlaybookWorkflow})
		if err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(testPlaybookAttribute).ValueSet("contain-test"))); err != nil {
			t.Fatal(err)
		}
		env.ExecuteWorkflow(testPlaybookWorkflow)
		if err := env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
	}
	wantValue(t, scrape(t, m.Handler()), "riposte_runs_finished_total", "playbook=contain-test,status=succeeded", 1)
}
