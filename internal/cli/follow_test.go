package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// README: riposte runs follow exits 0 when the run completed, 1 when it
// failed. An API that could not answer one poll (429 with Retry-After, a
// 503 while Temporal restarts, a connection dropped while riposte serve is
// redeployed) ended follow with exit 1, so a script took a run that went
// on and succeeded for a failed one. follow retries such a poll (after the
// Retry-After) and goes on following.
func TestRunsFollowSurvivesATransientAPIError(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := api.RunDetail{RunSummary: api.RunSummary{WorkflowID: "pb:x", Status: "running"},
			Steps: []workflows.StepResult{{ID: "isolate", Status: "running"}}}
		switch n.Add(1) {
		case 2:
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"title":"Too many requests","status":429,"detail":"rate limit of 100 requests/s (burst 200) exceeded; retry after 1s"}`))
			return
		case 3:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"title":"Temporal unavailable","status":503,"detail":"try again"}`))
			return
		case 4:
			// The API process goes away mid-request (a redeploy).
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		case 1, 5, 6:
		default:
			now := time.Now()
			d.Status, d.ClosedAt = workflows.RunSucceeded, &now
			d.Steps[0].Status = "succeeded"
		}
		writeJSONTo(w, d)
	}))
	defer srv.Close()
	start := time.Now()
	code, out, stderr := runCLI(t, "runs", "follow", "pb:x", "--api", srv.URL, "--token", "t", "--interval", "10ms")
	if code != 0 || !strings.Contains(out, "run pb:x: succeeded") {
		t.Fatalf("exit %d, want 0 (the run succeeded)\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	if !strings.Contains(stderr, "429 Too many requests") {
		t.Errorf("stderr does not say why follow waited: %s", stderr)
	}
	if time.Since(start) < time.Second {
		t.Errorf("follow did not wait the Retry-After (1s) of the 429: done in %s", time.Since(start))
	}
}

// A poll the API refuses for good (the run does not exist, the token is
// wrong) still ends follow at once with the API's problem, exit 4: follow
// did not see the run end.
func TestRunsFollowStopsOnAPermanentError(t *testing.T) {
	srv := fakeAPI(t, map[string]any{})
	code, _, stderr := runCLI(t, "runs", "follow", "pb:nope", "--api", srv.URL, "--token", "t", "--interval", "10ms")
	if code != exitFollowUnknown || !strings.Contains(stderr, "404 Run not found") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}

// An API that stays away longer than --retry-for ends follow with exit 4
// (not 1: the run did not fail, as far as anyone knows) and says for how
// long it tried.
func TestRunsFollowGivesUpAfterRetryFor(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"title":"Temporal unavailable","status":503,"detail":"try again"}`))
	}))
	defer srv.Close()
	code, _, stderr := runCLI(t, "runs", "follow", "pb:x", "--api", srv.URL, "--token", "t", "--interval", "10ms", "--retry-for", "200ms")
	if code != exitFollowUnknown || !strings.Contains(stderr, "503 Temporal unavailable") || !strings.Contains(stderr, "--retry-for") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}
