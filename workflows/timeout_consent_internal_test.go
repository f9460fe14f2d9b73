package workflows

import (
	"strings"
	"testing"
	"time"
)

// A gate's timeout approves (on_timeout: approve) only when it is acted on
// within LateTimeoutGrace of the deadline: later, workers or Temporal were
// down, and votes clicked meanwhile were not received.
func TestSilenceNotConsent(t *testing.T) {
	deadline := time.Date(2026, 12, 6, 12, 49, 5, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		unasked bool
		nobody  bool          // no approver resolved
		busy    time.Duration // a message update started in time ended this long after the deadline
		late    time.Duration
		want    string // substring; "" = approves
	}{
		{"on time", false, false, 0, 0, ""},
		{"a busy gate's deferred timer", false, false, 0, 5*time.Minute + 15*time.Second, ""},
		{"at the grace", false, false, 0, LateTimeoutGrace, ""},
		{"past the grace", false, false, 0, LateTimeoutGrace + time.Second, "10m1s late"},
		{"after an outage", false, false, 0, 12*time.Hour + 16*time.Minute, "acted on it only at 2026-12-07T01:05:05Z, 12h16m0s late"},
		{"nobody asked", true, false, 0, 0, "nobody was asked"},
		{"nobody could answer", false, true, 0, 0, "nobody could answer"},
		{"a rate-limited update ran 12m past the deadline", false, false, 12 * time.Minute, 12*time.Minute + time.Second, ""},
		{"late after a rate-limited update", false, false, 12 * time.Minute, 22*time.Minute + time.Second, "10m1s late"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &gateState{Gate: Gate{StepID: "isolate", ExpiresAt: deadline, Approvers: []string{"UBOB"}}, unasked: tc.unasked}
			if tc.nobody {
				g.Approvers = nil
			}
			if tc.busy > 0 {
				g.busyUntil = deadline.Add(tc.busy)
			}
			got := g.silenceNotConsent(deadline.Add(tc.late))
			if tc.want == "" {
				if got != "" {
					t.Errorf("got %q, want the timeout to approve", got)
				}
				return
			}
			if !strings.HasPrefix(got, ReasonTimeoutNotApplied) || !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q after %q", got, tc.want, ReasonTimeoutNotApplied)
			}
		})
	}
}
