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

// A --timeout that is not positive and a negative --retry-for are usage
// errors naming the flag, not a request without a time limit or a follow
// that gives up at once.
func TestClientDurationsAreChecked(t *testing.T) {
	for _, args := range [][]string{
		{"runs", "list", "--api", "http://127.0.0.1:1", "--token", "t", "--timeout", "0s"},
		{"runs", "list", "--api", "http://127.0.0.1:1", "--token", "t", "--timeout", "-5s"},
		{"runs", "follow", "--api", "http://127.0.0.1:1", "--token", "t", "--retry-for", "-1s", "RUN"},
		{"runs", "follow", "--api", "http://127.0.0.1:1", "--token", "t", "--interval", "0s", "RUN"},
	} {
		code, _, errOut := runCLI(t, args...)
		flag := args[len(args)-2]
		if args[1] == "follow" {
			flag = args[len(args)-3]
		}
		if code != 2 || !strings.Contains(errOut, flag) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", args, code, errOut, flag)
		}
	}
}
