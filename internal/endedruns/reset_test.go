package endedruns

import (
	"context"
	"errors"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

type historyClient struct {
	client.Client // nil: only GetWorkflowHistory is used
	events        []*historypb.HistoryEvent
	err           error
}

func (c *historyClient) GetWorkflowHistory(context.Context, string, string, bool, enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	return &events{list: c.events, err: c.err}
}

type events struct {
	list []*historypb.HistoryEvent
	err  error
}

func (e *events) HasNext() bool { return e.err != nil || len(e.list) > 0 }

func (e *events) Next() (*historypb.HistoryEvent, error) {
	if e.err != nil {
		return nil, e.err
	}
	ev := e.list[0]
	e.list = e.list[1:]
	return ev, nil
}

func taskFailed(id int64, cause enumspb.WorkflowTaskFailedCause, base, newRun, reason string) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventId: id, EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED,
		Attributes: &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
			Cause: cause, BaseRunId: base, NewRunId: newRun, Failure: &failurepb.Failure{Message: reason}}}}
}

// TestResetRecord: the run a reset run was reset from is the base run of
// the record naming it as the new run, not the first record (a reset of a
// reset copies its predecessor's) nor a workflow task failed otherwise.
func TestResetRecord(t *testing.T) {
	const reset = enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
	started := &historypb.HistoryEvent{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED}
	for _, tc := range []struct {
		name   string
		events []*historypb.HistoryEvent
		want   *Reset
	}{
		{"never reset", []*historypb.HistoryEvent{started, taskFailed(4, enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, "", "", "panic")}, nil},
		{"reset once", []*historypb.HistoryEvent{started, taskFailed(4, reset, "a", "b", "stuck")}, &Reset{BaseRunID: "a", EventID: 4, Reason: "stuck"}},
		{"reset of a reset", []*historypb.HistoryEvent{started, taskFailed(4, reset, "a", "b", "first"), taskFailed(9, reset, "b", "c", "again")}, &Reset{BaseRunID: "b", EventID: 9, Reason: "again"}},
		{"own record first", []*historypb.HistoryEvent{taskFailed(9, reset, "b", "c", "again"), taskFailed(12, reset, "x", "y", "other")}, &Reset{BaseRunID: "b", EventID: 9, Reason: "again"}},
		{"none naming the run: the last", []*historypb.HistoryEvent{taskFailed(4, reset, "a", "b", "first"), taskFailed(9, reset, "b", "x", "other")}, &Reset{BaseRunID: "b", EventID: 9, Reason: "other"}},
		{"record without a base run", []*historypb.HistoryEvent{taskFailed(4, reset, "", "c", "")}, nil},
	} {
		got, err := ResetRecord(context.Background(), &historyClient{events: tc.events}, "w1", "c")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("%s: ResetRecord = %+v, want %+v", tc.name, got, tc.want)
		}
	}
	_, err := ResetRecord(context.Background(), &historyClient{err: errors.New("frontend down")}, "w1", "c")
	if err == nil || !strings.Contains(err.Error(), "run c of w1") || !strings.Contains(err.Error(), "frontend down") {
		t.Errorf("unreadable history: error %v; want it naming the run and the cause", err)
	}
}
