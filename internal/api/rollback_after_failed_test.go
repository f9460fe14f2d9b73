package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// A rollback asked again after one that failed plans only what that one
// did not undo (failedRollbackLeft): README, "Undo".
func TestFailedRollbackLeft(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	before, after := t0.Add(-time.Minute), t0.Add(time.Minute)
	call := func(step string, i int) workflows.UndoCall {
		return workflows.UndoCall{Step: step, Index: i, Action: "crowdstrike.contain_host", Undo: "crowdstrike.lift_containment"}
	}
	result := func(c workflows.UndoCall, status string) workflows.UndoResult {
		return workflows.UndoResult{UndoCall: c, Status: status}
	}
	d := &RunDetail{Steps: []workflows.StepResult{
		{ID: "a", EndedAt: &before}, {ID: "b", EndedAt: &before}, {ID: "each", EndedAt: &before},
		{ID: "late", EndedAt: &after}, {ID: "running"},
	}}
	for _, tc := range []struct {
		name string
		undo []workflows.UndoCall
		res  []workflows.UndoResult
		want []string
	}{
		{"undone left out, failed kept", []workflows.UndoCall{call("a", -1), call("b", -1)},
			[]workflows.UndoResult{result(call("a", -1), "succeeded"), result(call("b", -1), "failed")}, []string{"b"}},
		{"for_each items by index", []workflows.UndoCall{call("each", 0), call("each", 1)},
			[]workflows.UndoResult{result(call("each", 0), "failed"), result(call("each", 1), "succeeded")}, []string{"each[0]"}},
		{"not planned by it: an earlier rollback undid it", []workflows.UndoCall{call("a", -1), call("b", -1)},
			[]workflows.UndoResult{result(call("b", -1), "failed")}, []string{"b"}},
		{"contained after it started, or not ended", []workflows.UndoCall{call("late", -1), call("running", -1), call("a", -1)},
			[]workflows.UndoResult{result(call("a", -1), "succeeded")}, []string{"late", "running"}},
		{"another undo of the same step: not planned by it", []workflows.UndoCall{{Step: "a", Index: -1, Undo: "panos.unblock_ip"}},
			[]workflows.UndoResult{result(call("a", -1), "succeeded")}, nil},
		{"nothing left", []workflows.UndoCall{call("a", -1)},
			[]workflows.UndoResult{result(call("a", -1), "succeeded")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, u := range failedRollbackLeft(d, tc.undo, tc.res, t0) {
				id := u.Step
				if u.Index >= 0 {
					id += "[" + strconv.Itoa(u.Index) + "]"
				}
				got = append(got, id)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("left %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("left %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// failedRollbackClient is rollbackClient for a run (w1, ended) that
// isolated h1 (step a) and h2 (step b), and whose rollback rollback:w1
// (rb-1) failed after it started: reading its outcome answers getErr.
type failedRollbackClient struct {
	*rollbackClient
	getErr error
	// plan is rb-1's input (its undo calls); done the steps whose undo
	// completed in its history; historyErr the error reading it.
	plan       []workflows.UndoCall
	done       []string
	historyErr error
}

// GetWorkflowHistory is rb-1's history: its start (input plan), then an
// activity scheduled for each undo call and completed for those in done.
func (c *failedRollbackClient) GetWorkflowHistory(_ context.Context, id, _ string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	if id != "rollback:w1" {
		c.t.Fatalf("history of %s read", id)
	}
	dc := converter.GetDefaultDataConverter()
	in, _ := dc.ToPayloads(workflows.RollbackInput{WorkflowID: "w1", RunID: "r1", Undo: c.plan})
	events := []*historypb.HistoryEvent{{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: in}}}}
	for _, u := range c.plan {
		id := int64(len(events) + 1)
		call, _ := dc.ToPayloads(catalog.Call{Action: u.Undo, Params: u.Params, WorkflowID: "w1", RunID: "r1", StepID: u.Step + ".rollback", Index: u.Index})
		events = append(events, &historypb.HistoryEvent{EventId: id, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
			Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{Input: call}}})
		if slices.Contains(c.done, u.Step) {
			events = append(events, &historypb.HistoryEvent{EventId: id + 1, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
				Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: id}}})
		}
	}
	return &sliceHistory{events: events, err: c.historyErr}
}

func (c *failedRollbackClient) DescribeWorkflowExecution(ctx context.Context, id, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if id != "rollback:w1" {
		return c.runClient.DescribeWorkflowExecution(ctx, id, runID)
	}
	last := c.runs[len(c.runs)-1]
	started := time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: last.runID},
		Type:      &commonpb.WorkflowType{Name: workflows.RollbackWorkflow},
		Status:    last.status,
		StartTime: timestamppb.New(started),
		CloseTime: timestamppb.New(started.Add(time.Minute)),
	}}, nil
}

func (c *failedRollbackClient) GetWorkflow(ctx context.Context, id, runID string) client.WorkflowRun {
	if id == "rollback:w1" {
		return errRun{fakeRun: fakeRun{id: id, runID: runID}, err: c.getErr}
	}
	return c.runClient.GetWorkflow(ctx, id, runID)
}

// A rollback asked again after one that failed must not lift again what
// that one undid because its outcome could not be read just then (Temporal
// unavailable) or its undo results cannot be decoded: it failed with undo
// results, and planning the whole rollback would lift again h1, which it
// undid and an analyst may have isolated again by hand since. Only a
// rollback that undid nothing (refused) is planned again whole.
func TestRollbackAfterFailedRollbackWhoseResultsCannotBeRead(t *testing.T) {
	ended := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := func(id, host string) workflows.StepResult {
		return workflows.StepResult{ID: id, Action: "defender.isolate_machine", Status: playbook.StatusSucceeded,
			Params: map[string]any{"hostname": host}, EndedAt: &ended}
	}
	steps := []workflows.StepResult{step("a", "h1"), step("b", "h2")}
	undone := func(id, host, status string) workflows.UndoResult {
		return workflows.UndoResult{UndoCall: workflows.UndoCall{Step: id, Action: "defender.isolate_machine", Undo: "defender.unisolate_machine",
			Index: -1, Params: map[string]any{"hostname": host}}, Status: status}
	}
	for _, tc := range []struct {
		name    string
		err     error
		started []string // steps the new rollback undoes; nil: none starts
		status  enumspb.WorkflowExecutionStatus
		plan    []string // rb-1's undo calls (its history), default b, a
		done    []string // of which its history shows completed
		histErr error
	}{
		{name: "results read", err: temporal.NewNonRetryableApplicationError("1 of 2 undo actions failed", workflows.ErrRollbackFailed, nil,
			[]workflows.UndoResult{undone("b", "h2", "failed"), undone("a", "h1", "succeeded")}), started: []string{"b"}},
		{name: "Temporal unavailable", err: serviceerror.NewUnavailable("frontend unavailable")},
		{name: "results cannot be decoded", err: undecodable(t)},
		{name: "refused: undid nothing", err: temporal.NewNonRetryableApplicationError("rollback refused: stale", "RollbackRefused", nil), started: []string{"b", "a"}},
		// A refused retry of a rollback that undid a: its plan (b) says
		// what is left, not the run alone.
		{name: "refused retry of one that undid a", err: temporal.NewNonRetryableApplicationError("rollback refused: stale", "RollbackRefused", nil),
			started: []string{"b"}, plan: []string{"b"}},
		// Terminated (an operator stopped it while the firewall kept
		// refusing b's undo): it undid a, which its history shows.
		{name: "terminated after undoing a", status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, started: []string{"b"}, done: []string{"a"}},
		{name: "timed out after undoing a", status: enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, started: []string{"b"}, done: []string{"a"}},
		{name: "terminated, its history unreadable", status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, histErr: serviceerror.NewUnavailable("frontend unavailable")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, toks, _ := identityServer(t, &fakeStarter{})
			c := &failedRollbackClient{rollbackClient: &rollbackClient{runClient: &runClient{t: t,
				attrs:  map[string]any{"PlaybookName": "pb", "RunStatus": "succeeded", "RunMode": playbook.ModeLive},
				result: workflows.Result{Playbook: "pb", Status: "succeeded", Steps: steps}}}, getErr: tc.err, done: tc.done, historyErr: tc.histErr}
			if tc.plan == nil {
				tc.plan = []string{"b", "a"}
			}
			for _, s := range tc.plan {
				host := map[string]string{"a": "h1", "b": "h2"}[s]
				c.plan = append(c.plan, undone(s, host, "").UndoCall)
			}
			if tc.status == 0 {
				tc.status = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
			}
			c.runs = []fakeRollback{{runID: "rb-1", status: tc.status}}
			srv.Temporal = c
			got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
			if tc.started == nil {
				if got.code < 500 || len(c.inputs) != 0 {
					t.Fatalf("status %d (%s), rollbacks started %+v: want none started and a 5xx saying the failed rollback's outcome cannot be read", got.code, got.body, c.inputs)
				}
				return
			}
			if got.code != http.StatusAccepted || len(c.inputs) != 1 {
				t.Fatalf("status %d (%s), %d rollbacks started", got.code, got.body, len(c.inputs))
			}
			var planned []string
			for _, u := range c.inputs[0].Undo {
				planned = append(planned, u.Step)
			}
			if !slices.Equal(planned, tc.started) {
				t.Errorf("the rollback asked again undoes %v, want %v", planned, tc.started)
			}
		})
	}
}

// undecodable is the failure of a rollback with undo failures as Temporal
// answers it, whose details do not decode as undo results (as when a
// payload does not decode in this process).
func undecodable(t *testing.T) error {
	p, err := converter.GetDefaultDataConverter().ToPayloads("not undo results")
	if err != nil {
		t.Fatal(err)
	}
	return temporal.GetDefaultFailureConverter().FailureToError(&failurepb.Failure{Message: "1 of 2 undo actions failed",
		FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
			Type: workflows.ErrRollbackFailed, NonRetryable: true, Details: p}}})
}
