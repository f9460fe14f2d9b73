package cli

import (
	"strings"
	"testing"
)

// --api / RIPOSTE_API_URL written as riposte dev's --http takes it
// (host:port, no scheme) was reported as Go's URL parser or transport
// saw it ("first path segment in URL cannot contain colon", "unsupported
// protocol scheme") with a hint that the API may not be running, exit 1.
// It is a usage error (exit 2) saying the URL needs http:// or https://,
// as riposte ui-links says of --ui.
func TestAPIURLWithoutScheme(t *testing.T) {
	for _, api := range []string{"127.0.0.1:8080", "localhost:8080", "riposte.corp", "http://", "ftp://riposte.corp"} {
		for _, args := range [][]string{{"runs", "list"}, {"approvals"}, {"submit", "-"}, {"approve", "RUN", "isolate"}} {
			t.Setenv("RIPOSTE_API_URL", api)
			code, _, stderr := runCLI(t, append(args, "--token", "t")...)
			if code != 2 || !strings.Contains(stderr, "http(s) URL") || !strings.Contains(stderr, "http://127.0.0.1:8080") ||
				strings.Contains(stderr, "is it running") || strings.Count(stderr, "\n") > 1 {
				t.Errorf("RIPOSTE_API_URL=%s riposte %s: exit %d, stderr %s", api, strings.Join(args, " "), code, stderr)
			}
		}
	}
}
