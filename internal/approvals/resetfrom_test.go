package approvals

import (
	"context"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// runHistories answers GetWorkflowHistory per run: each run's history
// holds the reset records its reset copied and wrote (as Temporal's does).
type runHistories struct {
	client.Client
	runs map[string][]*historypb.HistoryEvent
}

func (c runHistories) GetWorkflowHistory(_ context.Context, _, runID string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	return &eventIter{events: c.runs[runID]}
}

// resetRecord is the workflow task failure a reset writes into its new run.
func resetRecord(id int64, base, run string) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventId: id, EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED,
		Attributes: &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
			Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW, BaseRunId: base, NewRunId: run}}}
}

// TestResetFromFollowsResetsOfResets: a click on a message posted by run A
// decides for the run that carries it on: B (reset from A), or C (reset
// from B, its history holding B's record too); not D (a reopened finding's
// run, continued as new: no record), nor a run whose records never reach
// A, however they loop.
func TestResetFromFollowsResetsOfResets(t *testing.T) {
	c := runHistories{runs: map[string][]*historypb.HistoryEvent{
		"B":  {resetRecord(5, "A", "B")},
		"C":  {resetRecord(5, "A", "B"), resetRecord(9, "B", "C")},
		"D":  {},
		"X":  {resetRecord(5, "Y", "X")},
		"Y":  {resetRecord(5, "X", "Y")},
		"E":  {resetRecord(5, "Z", "E")},
		"Z":  {},
		"C2": {resetRecord(5, "A", "B"), resetRecord(9, "B", "C2")},
	}}
	for _, tc := range []struct {
		run, base string
		want      bool
	}{
		{"B", "A", true},
		{"C", "A", true},
		{"C", "B", true},
		{"C2", "A", true},
		{"B", "C", false},
		{"D", "A", false},
		{"X", "A", false},
		{"E", "A", false},
	} {
		_, got, err := resetFrom(t.Context(), c, "wf", tc.run, tc.base)
		if err != nil || got != tc.want {
			t.Errorf("resetFrom(run %s, base %s) = %v, %v; want %v", tc.run, tc.base, got, err, tc.want)
		}
	}
}
