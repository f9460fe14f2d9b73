package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// README (runs follow exit codes): 0 the run completed, 1 the run failed.
// A run an operator cancelled (the Temporal UI's Cancel, `temporal
// workflow cancel`: status canceled, which the run now records itself),
// terminated or that timed out did not fail, and may hold containment
// nobody will release (cancelled while holding: "Not released"); follow
// ended it with exit 1, so a script read an operator's cancel as a failed
// response, and the usage still said canceled is a status no code of the
// run records. follow exits 3 for a run ended from outside and says so.
func TestRunsFollowTellsARunEndedFromOutside(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   int
	}{
		{workflows.RunSucceeded, 0},
		{workflows.RunFailed, 1},
		{workflows.RunCanceled, exitFollowEnded},
		{api.StatusTerminated, exitFollowEnded},
		{api.StatusTimedOut, exitFollowEnded},
	} {
		t.Run(tc.status, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				now := time.Now()
				writeJSONTo(w, api.RunDetail{RunSummary: api.RunSummary{WorkflowID: "pb:x", Status: tc.status, ClosedAt: &now, Outcome: workflows.OutcomeContained},
					Steps: []workflows.StepResult{{ID: "isolate", Status: "succeeded"}}})
			}))
			defer srv.Close()
			code, out, stderr := runCLI(t, "runs", "follow", "pb:x", "--api", srv.URL, "--token", "t", "--interval", "10ms")
			if code != tc.want {
				t.Errorf("exit %d for a run %s, want %d\nstdout: %s\nstderr: %s", code, tc.status, tc.want, out, stderr)
			}
			if tc.want == exitFollowEnded && !strings.Contains(out, "ended from outside") {
				t.Errorf("follow does not say the run was ended from outside: %s", out)
			}
		})
	}
	if strings.Contains(runsUsage, "Temporal ended itself (no code of the run ran at its end): terminated,\ntimed_out, canceled") {
		t.Error("runs usage still says canceled is a status no code of the run records")
	}
}
