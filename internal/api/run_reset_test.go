package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/workflows"
)

// resetRunsClient knows the runs of workflow w1, each with its describe
// answer's extended info and its history; it counts the histories read.
type resetRunsClient struct {
	client.Client // nil: only the methods below are used
	extended      map[string]*workflowpb.WorkflowExecutionExtendedInfo
	history       map[string][]*historypb.HistoryEvent
	historyErr    error
	reads         []string
}

func (c *resetRunsClient) DescribeWorkflowExecution(_ context.Context, id, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	ext, ok := c.extended[runID]
	if id != "w1" || !ok {
		return nil, serviceerror.NewNotFound("no such run")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{
		WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
			Type:      &commonpb.WorkflowType{Name: workflows.PlaybookWorkflow},
			Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			StartTime: timestamppb.Now(),
		},
		WorkflowExtendedInfo: ext,
	}, nil
}

func (c *resetRunsClient) GetWorkflowHistory(_ context.Context, _, runID string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	c.reads = append(c.reads, runID)
	return &sliceHistory{events: c.history[runID], err: c.historyErr}
}

func (c *resetRunsClient) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, errors.New("no worker in this test")
}

type sliceHistory struct {
	events []*historypb.HistoryEvent
	err    error
}

func (h *sliceHistory) HasNext() bool { return h.err != nil || len(h.events) > 0 }

func (h *sliceHistory) Next() (*historypb.HistoryEvent, error) {
	if h.err != nil {
		return nil, h.err
	}
	e := h.events[0]
	h.events = h.events[1:]
	return e, nil
}

// resetRecord is the event a reset writes at its reset point in the new
// run's history.
func resetRecord(id int64, base, newRun, reason string) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventId: id, EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED,
		Attributes: &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
			Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW, BaseRunId: base, NewRunId: newRun,
			Failure: &failurepb.Failure{Message: reason}}}}
}

// The run detail did not say that a run was reset (the Temporal UI's
// Reset, `temporal workflow reset`), nor from which run, and the run a
// reset ended did not say which run carries on: an analyst saw a run
// whose earlier steps ran at another time with no hint why. A reset run
// now has reset_from (the run, the reset point's event id, the reason)
// and the run reset from has reset_to (the latest run reset from it),
// read from the describe answer the detail already has; only a reset run
// has its history read, and a run never reset has neither field.
func TestRunDetailSaysItWasReset(t *testing.T) {
	now := timestamppb.Now()
	c := &resetRunsClient{
		extended: map[string]*workflowpb.WorkflowExecutionExtendedInfo{
			"plain": {},
			// A reset to B, B reset to C: each names its own new run.
			"a":    {ResetRunId: "b"},
			"b":    {ResetRunId: "c", LastResetTime: now},
			"c":    {LastResetTime: now},
			"lost": {LastResetTime: now},
		},
		history: map[string][]*historypb.HistoryEvent{
			"b": {{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED}, resetRecord(4, "a", "b", "operator reset to the first workflow task")},
			// C's history up to its reset point is B's: B's record first.
			"c": {resetRecord(4, "a", "b", "first"), {EventId: 5}, resetRecord(9, "b", "c", "again")},
		},
	}
	s := &Server{Temporal: c, Namespace: "default"}
	for _, tc := range []struct {
		run       string
		wantFrom  *ResetFrom
		wantTo    string
		wantReads []string
	}{
		{"plain", nil, "", nil},
		{"a", nil, "b", nil},
		{"b", &ResetFrom{RunID: "a", EventID: 4, Reason: "operator reset to the first workflow task"}, "c", []string{"b"}},
		{"c", &ResetFrom{RunID: "b", EventID: 9, Reason: "again"}, "", []string{"c"}},
	} {
		c.reads = nil
		d, err := s.Run(context.Background(), "w1", tc.run)
		if err != nil {
			t.Fatalf("run %s: %v", tc.run, err)
		}
		if got, _ := json.Marshal(d.ResetFrom); (d.ResetFrom == nil) != (tc.wantFrom == nil) || (d.ResetFrom != nil && *d.ResetFrom != *tc.wantFrom) {
			t.Errorf("run %s: reset_from %s, want %+v", tc.run, got, tc.wantFrom)
		}
		if d.ResetTo != tc.wantTo {
			t.Errorf("run %s: reset_to %q, want %q", tc.run, d.ResetTo, tc.wantTo)
		}
		if strings.Join(c.reads, ",") != strings.Join(tc.wantReads, ",") {
			t.Errorf("run %s: histories read %v, want %v (only a reset run's)", tc.run, c.reads, tc.wantReads)
		}
		b, _ := json.Marshal(d)
		if tc.wantFrom == nil && strings.Contains(string(b), `"reset_from"`) || tc.wantTo == "" && strings.Contains(string(b), `"reset_to"`) {
			t.Errorf("run %s: %s: want reset_from/reset_to omitted when not reset", tc.run, b)
		}
	}

	// A reset run whose record cannot be read still says it was reset,
	// and why the run it was reset from is missing.
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"unreadable", serviceerror.NewUnavailable("frontend down"), "frontend down"},
		{"no record", nil, "no reset record"},
	} {
		c.historyErr = tc.err
		d, err := s.Run(context.Background(), "w1", "lost")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d.ResetFrom == nil || d.ResetFrom.RunID != "" || !strings.Contains(d.ResetFrom.Error, tc.want) {
			t.Errorf("%s: reset_from %+v; want it present with an error saying %q", tc.name, d.ResetFrom, tc.want)
		}
	}
}

// GET /v1/runs/{id}?run_id=R for a run id the workflow does not have says
// which run id was not found, not that the workflow id is unknown.
func TestGetRunUnknownRunIDSaysWhich(t *testing.T) {
	s := &Server{Temporal: &resetRunsClient{extended: map[string]*workflowpb.WorkflowExecutionExtendedInfo{"a": {}}}, Namespace: "default"}
	for _, tc := range []struct{ target, want string }{
		{"/v1/runs/w1?run_id=nope", `no run \"nope\" under workflow id \"w1\"`},
		{"/v1/runs/w9", `no run with workflow id \"w9\"`},
	} {
		req := httptest.NewRequest("GET", tc.target, nil)
		req.SetPathValue("id", strings.TrimPrefix(strings.SplitN(tc.target, "?", 2)[0], "/v1/runs/"))
		w := httptest.NewRecorder()
		s.getRun(w, req)
		if w.Code != 404 || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s: %d %s, want 404 saying %s", tc.target, w.Code, w.Body.String(), tc.want)
		}
	}
}
