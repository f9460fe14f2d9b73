package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riposte-dev/riposte/workflows"
)

// describedRun answers DescribeWorkflowExecution for run r-a of w1.
type describedRun struct {
	client.Client // nil: only DescribeWorkflowExecution is used
	status        enumspb.WorkflowExecutionStatus
	rolledBackAt  time.Time // zero: never marked
	err           error
}

func (c *describedRun) DescribeWorkflowExecution(_ context.Context, id, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if c.err != nil {
		return nil, c.err
	}
	fields := map[string]*commonpb.Payload{}
	if !c.rolledBackAt.IsZero() {
		fields[workflows.SARolledBackAt.GetName()], _ = converter.GetDefaultDataConverter().ToPayload(c.rolledBackAt)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID}, Status: c.status,
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields}}}, nil
}

// Whether a mark_first rollback may begin: only when its run took a mark
// since the rollback started, or has ended otherwise than by continuing
// as a new run (it hands nothing over).
func TestRollbackMarkedReadsTheRunsMark(t *testing.T) {
	since := time.Date(2026, 3, 2, 9, 40, 0, 0, time.UTC)
	running, continued := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
	for _, tc := range []struct {
		name    string
		c       *describedRun
		refusal string // "" may begin
		err     bool
	}{
		{"running, marked since", &describedRun{status: running, rolledBackAt: since.Add(80 * time.Millisecond)}, "", false},
		{"continued after the mark", &describedRun{status: continued, rolledBackAt: since.Add(time.Second)}, "", false},
		{"running, never marked", &describedRun{status: running}, "has not taken this rollback's mark", false},
		{"running, marked by an earlier rollback", &describedRun{status: running, rolledBackAt: since.Add(-time.Hour)}, "has not taken this rollback's mark", false},
		{"continued before the mark", &describedRun{status: continued}, "continued as a new run", false},
		{"completed", &describedRun{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED}, "", false},
		{"gone", &describedRun{err: serviceerror.NewNotFound("no such run")}, "cannot be found", false},
		{"unreachable", &describedRun{err: serviceerror.NewUnavailable("down")}, "", true},
	} {
		got, err := RollbackMarked(tc.c)(context.Background(), workflows.RollbackMarkedInput{WorkflowID: "w1", RunID: "r-a", Since: since})
		if (err != nil) != tc.err || (tc.refusal == "") != (got.Refusal == "") || !strings.Contains(got.Refusal, tc.refusal) {
			t.Errorf("%s: refusal %q, error %v; want refusal containing %q, error %v", tc.name, got.Refusal, err, tc.refusal, tc.err)
		}
	}
}
