package endedruns

import (
	"context"
	"errors"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// runsClient answers each run's history and describe (its ResetRunId).
type runsClient struct {
	client.Client
	history map[string][]*historypb.HistoryEvent
	resetTo map[string]string
	err     error
}

func (c *runsClient) GetWorkflowHistory(_ context.Context, _, runID string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	return &events{list: c.history[runID]}
}

func (c *runsClient) DescribeWorkflowExecution(_ context.Context, _, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if c.err != nil {
		return nil, c.err
	}
	to, ok := c.resetTo[runID]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow execution not found")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExtendedInfo: &workflowpb.WorkflowExecutionExtendedInfo{ResetRunId: to}}, nil
}

// TestBaseResetAgain: run c was reset from b, itself reset from a. Only a
// reset of a run of that line made after the run of the line (its
// ResetRunId names another run) shares c's history with a later run.
func TestBaseResetAgain(t *testing.T) {
	const reset = enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
	line := map[string][]*historypb.HistoryEvent{
		"b": {taskFailed(4, reset, "a", "b", "")},
		"c": {taskFailed(4, reset, "a", "b", ""), taskFailed(9, reset, "b", "c", "")},
	}
	for _, tc := range []struct {
		name    string
		history map[string][]*historypb.HistoryEvent
		resetTo map[string]string
		want    bool
	}{
		{"never reset (a continued run)", map[string][]*historypb.HistoryEvent{}, map[string]string{"c": ""}, false},
		{"line intact", line, map[string]string{"a": "b", "b": "c", "c": ""}, false},
		{"its base reset again", line, map[string]string{"a": "b", "b": "x", "c": ""}, true},
		{"its base's base reset again", line, map[string]string{"a": "x", "b": "c", "c": ""}, true},
		{"base past retention", line, map[string]string{"a": "b", "c": ""}, true},
	} {
		got, err := BaseResetAgain(context.Background(), &runsClient{history: tc.history, resetTo: tc.resetTo}, "w1", "c")
		if err != nil || got != tc.want {
			t.Errorf("%s: BaseResetAgain = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	_, err := BaseResetAgain(context.Background(), &runsClient{history: line, err: errors.New("frontend down")}, "w1", "c")
	if err == nil || !strings.Contains(err.Error(), "run b of w1") || !strings.Contains(err.Error(), "frontend down") {
		t.Errorf("unreadable base: error %v; want it naming the base and the cause", err)
	}
}
