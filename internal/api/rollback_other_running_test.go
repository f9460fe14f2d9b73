package api

import (
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The 409 refusing a rollback while rollback:ID runs for another run of
// the finding names the run that rollback undoes and what to do. The
// run_id rollback of run B (which a reset of another run terminated)
// while the latest run C's rollback runs: C is the later run, not "an
// earlier run"; a reopened finding's new run while the earlier run's
// rollback runs: that one is earlier.
func TestRollbackOfAnotherRunRunningNamesIt(t *testing.T) {
	started := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	info := func(at time.Time) *workflowpb.WorkflowExecutionInfo {
		return &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: "rollback:w1", RunId: "rb-7"},
			Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, StartTime: timestamppb.New(at)}
	}
	b := &RunDetail{RunSummary: RunSummary{WorkflowID: "w1", RunID: "r-b", StartedAt: started}, TerminatedByReset: "r-c"}
	latest := &RunDetail{RunSummary: RunSummary{WorkflowID: "w1", RunID: "r-new", StartedAt: started}}
	for _, tc := range []struct {
		name, of string
		d        *RunDetail
		at       time.Time
		want     []string
		not      string
	}{
		{"run_id of B while C's runs", "r-c", b, started.Add(time.Hour),
			[]string{"rollback:w1 (run rb-7) is still rolling back run r-c (the latest run) of this finding, not run r-b", "ask again once it has ended"}, "earlier"},
		{"reopened finding while the earlier run's runs", "r-old", latest, started.Add(-time.Hour),
			[]string{"is still rolling back run r-old (an earlier run) of this finding, not run r-new", "ask again once it has ended"}, "latest"},
		{"no memo, earlier", "", latest, started.Add(-time.Hour),
			[]string{"is still rolling back an earlier run of this finding, not run r-new"}, "latest"},
		{"no memo, started since", "", b, started.Add(time.Hour),
			[]string{"is still rolling back another run of this finding, not run r-b"}, "earlier"},
	} {
		got := otherRunRollbackRunning("rollback:w1", info(tc.at), tc.of, tc.d)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q; want it to say %q", tc.name, got, w)
			}
		}
		if strings.Contains(got, tc.not) {
			t.Errorf("%s: %q says %q", tc.name, got, tc.not)
		}
	}
}
