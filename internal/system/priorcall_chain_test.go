package system

import (
	"context"
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

// resetChain is a client.Client holding the runs of workflow wid (and of
// rollback:wid): their histories by run id, the latest run of each id,
// and what visibility lists for each id.
type resetChain struct {
	client.Client
	runs   map[string][]*historypb.HistoryEvent
	latest map[string]string
	listed map[string][]string
}

func (r *resetChain) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	run, ok := r.latest[id]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: run}}}, nil
}

func (r *resetChain) GetWorkflowHistory(_ context.Context, _, run string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	events, ok := r.runs[run]
	if !ok {
		return &fakeHistory{err: serviceerror.NewNotFound("run " + run + " not found")}
	}
	return &fakeHistory{events: append([]*historypb.HistoryEvent(nil), events...)}
}

func (r *resetChain) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for id, runs := range r.listed {
		if req.GetQuery() != "WorkflowId = "+queryString(id) {
			continue
		}
		for _, run := range runs {
			resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: run}})
		}
	}
	return resp, nil
}

// resetFrom is the record a reset writes in its new run's history.
func resetFrom(id int64, base, newRun string) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventId: id, Attributes: &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
		Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW, BaseRunId: base, NewRunId: newRun}}}
}

// called is a run's completed call of step block (panos.block_ip, or
// its release) with params, for run forRun, and its output.
func called(t *testing.T, from int64, step, forRun string, params, out map[string]any) []*historypb.HistoryEvent {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	action := "panos.block_ip"
	if step != "block" {
		action = "panos.unblock_ip"
	}
	in, err := dc.ToPayloads(catalog.Call{Action: action, StepID: step, RunID: forRun, WorkflowID: "wid", Params: params})
	if err != nil {
		t.Fatal(err)
	}
	res, err := dc.ToPayloads(out)
	if err != nil {
		t.Fatal(err)
	}
	return []*historypb.HistoryEvent{
		{EventId: from, Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: action}, Input: in}}},
		{EventId: from + 2, Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
			ScheduledEventId: from, Result: res}}},
	}
}

// Run A blocks the IP. A is reset (run B): B's block finds A's in place
// and claims it (A applied it). B's containment is then lifted, by
// riposte rollback (the API's rollback names the latest run, B) or by
// B's own contain_for release. Someone else blocks the IP. The operator
// resets A again (the Temporal UI's Reset on run A's page; Temporal
// allows a reset of any run, and terminates the current one): run C,
// reset from A, finds the other block in place. A applied the block and
// nothing naming run A undid it, so priorCall said C's call was A's and
// C claimed someone else's block, to lift it at its contain_for or
// rollback. What run B (carrying A's block on) undid is A's block too.
func TestPriorCallSeesUndoByARunResetFromTheBase(t *testing.T) {
	ip := map[string]any{"ip": "203.0.113.9"}
	applied := map[string]any{"blocked": true}
	runA := called(t, 5, "block", "A", ip, applied)
	runB := append([]*historypb.HistoryEvent{resetFrom(4, "A", "B")}, called(t, 5, "block", "B", ip, applied)...)
	runC := []*historypb.HistoryEvent{resetFrom(4, "A", "C")}
	for _, tc := range []struct {
		name    string
		c       resetChain
		mine    bool
		wantErr string
	}{
		{"rollback of run B", resetChain{
			runs:   map[string][]*historypb.HistoryEvent{"A": runA, "B": runB, "C": runC, "x1": undo(t, "B", ip)},
			latest: map[string]string{"wid": "C", "rollback:wid": "x1"},
			listed: map[string][]string{"wid": {"C", "B", "A"}, "rollback:wid": {"x1"}}}, false, ""},
		{"run B's contain_for release", resetChain{
			runs:   map[string][]*historypb.HistoryEvent{"A": runA, "B": append(append([]*historypb.HistoryEvent(nil), runB...), called(t, 9, "block.release", "B", ip, nil)...), "C": runC},
			latest: map[string]string{"wid": "C"},
			listed: map[string][]string{"wid": {"C", "B", "A"}}}, false, ""},
		{"run B lifted another IP", resetChain{
			runs:   map[string][]*historypb.HistoryEvent{"A": runA, "B": runB, "C": runC, "x1": undo(t, "B", map[string]any{"ip": "203.0.113.10"})},
			latest: map[string]string{"wid": "C", "rollback:wid": "x1"},
			listed: map[string][]string{"wid": {"C", "B", "A"}, "rollback:wid": {"x1"}}}, true, ""},
		{"a rollback of another finding's run under the id", resetChain{
			runs:   map[string][]*historypb.HistoryEvent{"A": runA, "Z": called(t, 5, "block", "Z", ip, applied), "C": runC, "x1": undo(t, "Z", ip)},
			latest: map[string]string{"wid": "C", "rollback:wid": "x1"},
			listed: map[string][]string{"wid": {"C", "A", "Z"}, "rollback:wid": {"x1"}}}, true, ""},
		{"visibility behind: run C not listed", resetChain{
			runs:   map[string][]*historypb.HistoryEvent{"A": runA, "B": runB, "C": runC},
			latest: map[string]string{"wid": "C"},
			listed: map[string][]string{"wid": {"B", "A"}}}, false, "visibility is behind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call := catalog.Call{WorkflowID: "wid", RunID: "C", ResetFrom: "A", StepID: "block", Action: "panos.block_ip", Params: ip}
			mine, err := priorCall(&tc.c, nil)(t.Context(), call)
			if tc.wantErr != "" {
				if mine || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("priorCall = %v, %v; want false, error %q", mine, err, tc.wantErr)
				}
				return
			}
			if err != nil || mine != tc.mine {
				if tc.mine {
					t.Errorf("priorCall = %v, %v; want true: nothing undid run A's block", mine, err)
					return
				}
				t.Errorf("priorCall = %v, %v; want false: run B, reset from A, carried A's block on and it was lifted since; what run C finds in place is someone else's", mine, err)
			}
		})
	}
}
