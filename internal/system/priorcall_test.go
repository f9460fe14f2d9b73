package system

import (
	"context"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// rollbackRuns is a client.Client holding the runs of one rollback
// workflow: latest is the current run, listed what visibility lists.
type rollbackRuns struct {
	client.Client
	latest  string
	runs    map[string][]*historypb.HistoryEvent
	listed  []string
	listErr error
	queries []string
}

func (r *rollbackRuns) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if r.latest == "" {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: r.latest}}}, nil
}

func (r *rollbackRuns) GetWorkflowHistory(_ context.Context, _, run string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	events, ok := r.runs[run]
	if !ok {
		return &fakeHistory{err: serviceerror.NewNotFound("run " + run + " not found")}
	}
	return &fakeHistory{events: events}
}

func (r *rollbackRuns) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	r.queries = append(r.queries, req.GetQuery())
	if r.listErr != nil {
		return nil, r.listErr
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for _, run := range r.listed {
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{RunId: run}})
	}
	return resp, nil
}

type fakeHistory struct {
	events []*historypb.HistoryEvent
	err    error
}

func (e *fakeHistory) HasNext() bool { return e.err != nil || len(e.events) > 0 }

func (e *fakeHistory) Next() (*historypb.HistoryEvent, error) {
	if e.err != nil {
		return nil, e.err
	}
	ev := e.events[0]
	e.events = e.events[1:]
	return ev, nil
}

// undo is a rollback run's history: one completed undo call of step
// block, with params, for run forRun.
func undo(t *testing.T, forRun string, params map[string]any) []*historypb.HistoryEvent {
	t.Helper()
	in, err := converter.GetDefaultDataConverter().ToPayloads(catalog.Call{Action: "panos.unblock_ip", StepID: "block.rollback", RunID: forRun, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	return []*historypb.HistoryEvent{
		{EventId: 5, Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{Input: in}}},
		{EventId: 7, Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: 5}}},
	}
}

// The call a reset run finds in place was undone by riposte rollback in
// any run of rollback:<id>, not only the latest: the API starts that id
// again (README, Undo).
func TestRolledBackReadsEveryRollbackRun(t *testing.T) {
	ip := map[string]any{"ip": "203.0.113.9"}
	other := map[string]any{"ip": "203.0.113.10"}
	for _, tc := range []struct {
		name    string
		c       rollbackRuns
		undone  bool
		wantErr string
	}{
		{name: "never rolled back", c: rollbackRuns{}},
		{name: "the latest run undid it", c: rollbackRuns{latest: "x2", runs: map[string][]*historypb.HistoryEvent{"x2": undo(t, "base", ip)}}, undone: true},
		{name: "an earlier run undid it", c: rollbackRuns{latest: "x2", listed: []string{"x2", "x1"},
			runs: map[string][]*historypb.HistoryEvent{"x2": undo(t, "reset-run", ip), "x1": undo(t, "base", ip)}}, undone: true},
		{name: "no run undid it", c: rollbackRuns{latest: "x2", listed: []string{"x2", "x1"},
			runs: map[string][]*historypb.HistoryEvent{"x2": undo(t, "reset-run", ip), "x1": undo(t, "base", other)}}},
		{name: "a listed run gone since (retention)", c: rollbackRuns{latest: "x2", listed: []string{"x2", "x1"},
			runs: map[string][]*historypb.HistoryEvent{"x2": undo(t, "reset-run", ip)}}},
		{name: "visibility behind: the latest not listed", c: rollbackRuns{latest: "x2", listed: []string{"x1"},
			runs: map[string][]*historypb.HistoryEvent{"x2": undo(t, "reset-run", ip), "x1": undo(t, "reset-run", ip)}}, wantErr: "visibility is behind"},
		{name: "visibility unavailable", c: rollbackRuns{latest: "x2", listErr: errors.New("unavailable"),
			runs: map[string][]*historypb.HistoryEvent{"x2": undo(t, "reset-run", ip)}}, wantErr: "listing the runs of rollback:wid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call := catalog.Call{WorkflowID: "wid", StepID: "block", Action: "panos.block_ip"}
			undone, err := rolledBack(t.Context(), &tc.c, converter.GetDefaultDataConverter(), call, ip, "base", map[string]bool{"base": true})
			if undone != tc.undone || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("rolledBack = %v, %v; want %v, error %q", undone, err, tc.undone, tc.wantErr)
			}
			for _, q := range tc.c.queries {
				if q != "WorkflowId = 'rollback:wid'" {
					t.Errorf("visibility query %q", q)
				}
			}
		})
	}
}

func TestQueryString(t *testing.T) {
	for in, want := range map[string]string{
		"rollback:e2e-hold:x.a.b": `'rollback:e2e-hold:x.a.b'`,
		`it's`:                    `'it\'s'`,
		`a\'b`:                    `'a\\\'b'`,
	} {
		if got := queryString(in); got != want {
			t.Errorf("queryString(%q) = %s; want %s", in, got, want)
		}
	}
}
