package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// runs follow retries a poll the API could not answer for now (a 429, a
// 503, a dropped connection) for up to --retry-for (5m). It also took for
// transient every failure Go's client reports as a *url.Error, which
// includes ones no retry can mend: the server's certificate is not trusted
// (a private CA not installed, a wrong host name) and the redirect refused
// because it would send the token in clear. follow then said "retrying for
// up to 5m" and a script waited five minutes for its exit on a settings
// mistake. Those end follow at once, as a 401 or a 404 does.
func TestRunsFollowDoesNotRetryWhatCannotMend(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSONTo(w, map[string]any{"workflow_id": "pb:x", "status": "running"})
	}))
	defer tlsSrv.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.10:8080"+r.URL.Path, http.StatusFound)
	}))
	defer redirect.Close()
	for _, tc := range []struct{ api, want string }{
		{tlsSrv.URL, "certificate"},
		{redirect.URL, "in clear"},
	} {
		start := time.Now()
		code, _, stderr := runCLI(t, "runs", "follow", "pb:x", "--api", tc.api, "--token", "t", "--interval", "10ms", "--retry-for", "3s")
		if code != exitFollowUnknown || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "retrying") || time.Since(start) > 2*time.Second {
			t.Errorf("--api %s: exit %d after %s, stderr %s", tc.api, code, time.Since(start).Round(time.Millisecond), stderr)
		}
	}
}
