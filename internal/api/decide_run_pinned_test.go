package api

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// reopenedGateClient is a Temporal client under which workflow id w1 is
// running as run-B: the finding was reopened after run-A, whose gate the
// approver looked at (GET /v1/approvals lists each gate with its run_id
// and what it would act on), ended. Decisions delivered are kept.
type reopenedGateClient struct {
	client.Client // nil: only the methods below are used
	mu            sync.Mutex
	updates       []client.UpdateWorkflowOptions
	// resetFrom, when set, is the run a Temporal reset started run-B
	// from (run-B's history holds the reset's record); else run-B
	// continues run-A as new (a reopened finding: no reset record).
	resetFrom string
}

func (c *reopenedGateClient) GetWorkflowHistory(_ context.Context, _, runID string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	if runID != "run-B" {
		return &sliceHistory{}
	}
	started := &historypb.HistoryEvent{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			ContinuedExecutionRunId: "run-A"}}}
	if c.resetFrom != "" {
		// Reset after the gate opened: run-B's history holds its
		// request (copied from run-A's) before the reset's record.
		started.GetWorkflowExecutionStartedEventAttributes().ContinuedExecutionRunId = ""
		in, _ := converter.GetDefaultDataConverter().ToPayloads(workflows.GateRequest{WorkflowID: "w1", RunID: c.resetFrom, GateID: "isolate", StepID: "isolate"})
		open := &historypb.HistoryEvent{EventId: 3, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
			Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
				ActivityType: &commonpb.ActivityType{Name: workflows.ActivityOpenGate}, Input: in}}}
		return &sliceHistory{events: []*historypb.HistoryEvent{started, open, resetRecord(5, c.resetFrom, "run-B", "operator reset")}}
	}
	return &sliceHistory{events: []*historypb.HistoryEvent{started}}
}

func (c *reopenedGateClient) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-B"},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	}}, nil
}

func (c *reopenedGateClient) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	c.mu.Lock()
	c.updates = append(c.updates, o)
	c.mu.Unlock()
	return fourEyesHandle{d: o.Args[0].(workflows.Decision)}, nil
}

// A decision through the API is for the gate the person looked at: the
// run GET /v1/approvals (riposte approvals) listed it under, with what it
// would act on. When that run has ended and the detector reopened the
// finding, a new run under the same workflow id opens the same gate, for
// the record that reopened it (which may name other targets). The API
// took no run: it sealed and delivered the decision to whichever run was
// running, so an approval given for run-A's host counted as approval of
// run-B's containment, which the approver never saw (b9e89c3 stops copies
// of votes crossing runs, not a fresh vote made for the earlier run; the
// Slack app's votes are bound to the gate's message). A decision naming
// its run (run_id, riposte approve --run-id) must be refused (409) when
// that run is no longer the one running, and delivered to it only.
func TestAPIDecisionForAnEndedRunDoesNotCountInItsSuccessor(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	c := &reopenedGateClient{}
	srv.Approvals = &approvals.Service{Client: c, Namespace: "default", Keys: keys, UpdateTimeout: time.Minute,
		SealsRun: func(context.Context) bool { return true }}
	h := srv.Handler()
	post := func(body string) response {
		r := httptest.NewRequest("POST", "/v1/runs/w1/approvals", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+toks["approver"])
		r.Header.Set("Content-Type", "application/json")
		return serve(h, r)
	}
	got := post(`{"step":"isolate","decision":"approve","run_id":"run-A"}`)
	if got.code != 409 || !strings.Contains(got.body, "run-A") || !strings.Contains(got.body, "run-B") {
		t.Errorf("approval for run-A while run-B runs: status %d %s; want 409 naming both runs", got.code, strings.TrimSpace(got.body))
	}
	c.mu.Lock()
	n := len(c.updates)
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("approval for run-A delivered to the running run %s", c.updates[0].RunID)
	}
	// For the run that is running: sealed for it and delivered to it.
	if got := post(`{"step":"isolate","decision":"approve","run_id":"run-B"}`); got.code != 200 {
		t.Fatalf("approval for the running run: status %d %s", got.code, got.body)
	}
	if len(c.updates) != 1 || c.updates[0].RunID != "run-B" || c.updates[0].Args[0].(workflows.Decision).RunID != "run-B" {
		t.Fatalf("updates: %+v", c.updates)
	}
}

// TestAPIDecisionForAResetRunGoesToTheRunThatCarriesItOn: a Temporal reset
// (the UI's Reset) ended run-A and started run-B from it, which carries on
// run-A's gates (opened before the reset point): a decision the approver
// made on run-A's gate is for the same gate, and goes to run-B, sealed for
// it.
func TestAPIDecisionForAResetRunGoesToTheRunThatCarriesItOn(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	c := &reopenedGateClient{resetFrom: "run-A"}
	srv.Approvals = &approvals.Service{Client: c, Namespace: "default", Keys: keys, UpdateTimeout: time.Minute,
		SealsRun: func(context.Context) bool { return true }}
	r := httptest.NewRequest("POST", "/v1/runs/w1/approvals", strings.NewReader(`{"step":"isolate","decision":"approve","run_id":"run-A"}`))
	r.Header.Set("Authorization", "Bearer "+toks["approver"])
	r.Header.Set("Content-Type", "application/json")
	if got := serve(srv.Handler(), r); got.code != 200 {
		t.Fatalf("approval for run-A, reset into run-B: status %d %s; want it delivered to run-B", got.code, got.body)
	}
	if len(c.updates) != 1 || c.updates[0].RunID != "run-B" || c.updates[0].Args[0].(workflows.Decision).RunID != "run-B" {
		t.Fatalf("updates: %+v; want one, to run-B, sealed for run-B", c.updates)
	}
}
