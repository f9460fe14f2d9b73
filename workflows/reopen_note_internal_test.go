package workflows

import (
	"strings"
	"testing"
	"time"
)

// A record that reopens the finding (active, later than the withdrawing
// record) reaching the withdrawn run while it still runs was noted as any
// record after the withdrawal, "ignored": nothing told the analyst reading
// the run that the finding was active again, that the containment the run
// holds is still released as planned, nor that the record must be sent
// again once the run has ended (docs/detections.md, "Known gap").
func TestReopeningRecordAfterWithdrawalIsNamed(t *testing.T) {
	withdrawnAt := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	until := withdrawnAt.Add(23 * time.Hour)
	rec := func(state string, at time.Time) FindingUpdate {
		return FindingUpdate{Finding: map[string]any{"state": state}, Detection: map[string]any{"time": at.UnixMilli()}}
	}
	for _, tc := range []struct {
		name      string
		u         FindingUpdate
		holds     []*Hold
		want, not []string
	}{
		{"reopening, holding", rec("active", withdrawnAt.Add(time.Hour)), []*Hold{{Step: "block", Until: until}},
			[]string{"finding reopened by the detector", "2026-12-07T10:00:00Z", "2026-12-07T09:00:00Z", "holds containment until 2026-12-08T08:00:00Z", "Send the record again once this run has ended"}, nil},
		{"reopening, nothing held", rec("active", withdrawnAt.Add(time.Hour)), nil,
			[]string{"finding reopened by the detector", "Send the record again"}, []string{"holds containment"}},
		{"released hold", rec("active", withdrawnAt.Add(time.Hour)), []*Hold{{Step: "block", Until: until, ReleasedAt: &until}},
			[]string{"finding reopened"}, []string{"holds containment"}},
		{"older active record", rec("active", withdrawnAt.Add(-time.Hour)), nil,
			[]string{"finding record after the withdrawal: ignored"}, []string{"reopened"}},
		{"another withdrawal", rec("withdrawn", withdrawnAt.Add(time.Hour)), nil,
			[]string{"finding record after the withdrawal: ignored"}, []string{"reopened"}},
		{"no record time", FindingUpdate{Finding: map[string]any{"state": "active"}, Detection: map[string]any{}}, nil,
			[]string{"finding record after the withdrawal: ignored"}, []string{"reopened"}},
	} {
		r := &run{withdrawal: &Withdrawal{At: withdrawnAt, RecordTime: withdrawnAt.UnixMilli()}, holds: tc.holds}
		got := r.afterWithdrawal(tc.u)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: %q says %q", tc.name, got, n)
			}
		}
	}
}
