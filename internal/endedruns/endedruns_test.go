package endedruns

import (
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

func TestQuery(t *testing.T) {
	from := time.Date(2026, 12, 6, 19, 0, 0, 5, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		base, extra, want string
	}{
		{"WorkflowType = 'playbook'", "", "(WorkflowType = 'playbook') AND ExecutionStatus IN ('Terminated', 'TimedOut') AND CloseTime >= '2026-12-06T18:00:00.000000005Z'"},
		{"WorkflowType = 'playbook'", "ApprovalState IS NOT NULL", "(WorkflowType = 'playbook') AND ExecutionStatus IN ('Terminated', 'TimedOut') AND ApprovalState IS NOT NULL AND CloseTime >= '2026-12-06T18:00:00.000000005Z'"},
	} {
		if got := Query(tc.base, tc.extra, from); got != tc.want {
			t.Errorf("Query(%q, %q) =\n%s\nwant\n%s", tc.base, tc.extra, got, tc.want)
		}
	}
}

func TestStatusName(t *testing.T) {
	for st, want := range map[enumspb.WorkflowExecutionStatus]string{
		enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:          "running",
		enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:        "timed_out",
		enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: "continued_as_new",
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:       "terminated",
	} {
		if got := StatusName(st); got != want {
			t.Errorf("StatusName(%v) = %q, want %q", st, got, want)
		}
	}
}
