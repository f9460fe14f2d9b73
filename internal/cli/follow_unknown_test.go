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

// runs follow exited 1 both when the run failed and when follow itself
// gave up (the API away for longer than --retry-for, a run it cannot see,
// a certificate not trusted): a script waiting on a response could not
// tell "the response failed" (page someone, re-run) from "I do not know
// how it ended" (look again). Exit 1 stays the failed run; a follow that
// did not see the run end exits 4 (exitFollowUnknown), documented in the
// command's help and README.
func TestRunsFollowUnknownEndIsNotAFailedRun(t *testing.T) {
	failed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		writeJSONTo(w, api.RunDetail{RunSummary: api.RunSummary{WorkflowID: "pb:x", Status: workflows.RunFailed, ClosedAt: &now}})
	}))
	defer failed.Close()
	away := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"title":"Temporal unavailable","status":503,"detail":"try again"}`))
	}))
	defer away.Close()
	missing := fakeAPI(t, map[string]any{})

	for _, tc := range []struct {
		what, api string
		want      int
	}{
		{"the run failed", failed.URL, 1},
		{"gave up after --retry-for", away.URL, 4},
		{"the run cannot be read (404)", missing.URL, 4},
	} {
		code, _, stderr := runCLI(t, "runs", "follow", "pb:x", "--api", tc.api, "--token", "t", "--interval", "10ms", "--retry-for", "200ms")
		if code != tc.want {
			t.Errorf("%s: exit %d, want %d\nstderr: %s", tc.what, code, tc.want, stderr)
		}
	}
	_, _, help := runCLI(t, "runs", "--help")
	if !strings.Contains(help, "exits 4") {
		t.Errorf("runs --help does not document exit 4:\n%s", help)
	}
}
