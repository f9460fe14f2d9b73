package endedruns

import (
	"testing"
	"time"
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
