package telemetry_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

// finished reads riposte_runs_finished_total{playbook,status}.
func finished(t *testing.T, m *telemetry.Metrics, playbook, status string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != telemetry.MetricRunsFinished {
			continue
		}
		for _, s := range f.GetMetric() {
			if labelValue(s, "playbook") == playbook && labelValue(s, "status") == status {
				return s.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestRunsFinishedCountsTerminatedAndTimedOutRuns: riposte_runs_finished_total
// was only ever incremented by the worker interceptor when the playbook
// workflow's code returned. A run Temporal ended itself — `temporal
// workflow terminate`, a workflow execution timeout — runs no workflow code
// at its end, so it was never counted: runs_started went up and
// runs_finished never caught up, and an operator's "runs stuck" alert
// (started - finished) fired for runs that were over. Those runs must be
// counted (status terminated / timed_out) by the component that watches
// runs, and a run that a reset terminated (the reset's new run carries on
// and records its own end) or that ended by itself must not be counted a
// second time.
func TestRunsFinishedCountsTerminatedAndTimedOutRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Namespace: "default", UIPort: -1, HTTPPort: -1,
		SearchAttributes: workflows.SearchAttributeTypes()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// A worker for the run that is reset and then ends by itself.
	w := worker.New(c, "closed-test", worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
		return nil
	}, workflow.RegisterOptions{Name: "phishing-click"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	m := telemetry.NewMetrics(telemetry.MetricsOptions{NoRuntimeCollectors: true})
	m.WatchClosedRuns(ctx, telemetry.ClosedRunsOptions{Client: c, Namespace: "default", Query: workflows.PlaybookRunsQuery,
		PlaybookAttribute: workflows.SAPlaybookName.GetName(), Every: 200 * time.Millisecond})

	start := func(id, playbook, queue string, timeout time.Duration) client.WorkflowRun {
		t.Helper()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue, WorkflowExecutionTimeout: timeout,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SAPlaybookName.ValueSet(playbook))}, playbook)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}

	// 1. Terminated by an operator: no worker ever runs it.
	start("terminated-run", "credential-dumping", "nobody-polls", 0)
	if err := c.TerminateWorkflow(ctx, "terminated-run", "", "operator says stop"); err != nil {
		t.Fatal(err)
	}
	// 2. Timed out: its execution timeout passes with no worker.
	start("timed-out-run", "ransomware-behaviour", "nobody-polls", time.Second)

	// 3. Reset, then ends by itself: the reset terminates the first run
	// (identity history-resetter) and the new run records its own end.
	run := start("reset-run", "phishing-click", "closed-test", 0)
	var taskDone int64
	for deadline := time.Now().Add(30 * time.Second); taskDone == 0; {
		it := c.GetWorkflowHistory(ctx, "reset-run", run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
				taskDone = e.GetEventId()
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the reset run's first workflow task never completed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err = c.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{Namespace: "default",
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "reset-run", RunId: run.GetRunID()}, Reason: "test", WorkflowTaskFinishEventId: taskDone, RequestId: "reset-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SignalWorkflow(ctx, "reset-run", "", "go", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.GetWorkflow(ctx, "reset-run", "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}

	want := map[[2]string]float64{
		{"credential-dumping", "terminated"}:  1,
		{"ransomware-behaviour", "timed_out"}: 1,
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var missing []string
		for k, v := range want {
			if got := finished(t, m, k[0], k[1]); got != v {
				missing = append(missing, fmt.Sprintf("%s{playbook=%q,status=%q} = %v, want %v", telemetry.MetricRunsFinished, k[0], k[1], got, v))
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after the runs closed:\n%s", strings.Join(missing, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A few more polls: nothing is counted twice, and neither the reset's
	// terminated run nor the run that ended by itself is counted here.
	time.Sleep(time.Second)
	for k, v := range want {
		if got := finished(t, m, k[0], k[1]); got != v {
			t.Errorf("%s{playbook=%q,status=%q} = %v after more polls, want %v (counted twice)", telemetry.MetricRunsFinished, k[0], k[1], got, v)
		}
	}
	for _, status := range []string{"terminated", "timed_out", "succeeded", "failed", "canceled"} {
		if got := finished(t, m, "phishing-click", status); got != 0 {
			t.Errorf("%s{playbook=\"phishing-click\",status=%q} = %v, want 0: the reset's old run is not a run finished, and the run that returned is the interceptor's to count", telemetry.MetricRunsFinished, status, got)
		}
	}
}
