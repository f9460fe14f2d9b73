package cli

import (
	"strings"
	"testing"
	"time"
)

// RFC 6750 section 5.3: clients MUST use TLS when making requests with
// bearer tokens. riposte sent its token (a personal approve or operate
// token: whoever reads it decides gates as that person) in clear over
// http:// to any host. Over http:// it now sends one only to a loopback
// address (riposte dev, a port-forward, a local TLS proxy); elsewhere it
// refuses (exit 2) unless --insecure-http says the path is protected
// otherwise (a service mesh's mTLS).
func TestTokenNotSentInClearToAnotherHost(t *testing.T) {
	for _, api := range []string{"http://192.0.2.10:8080", "http://riposte.example.com", "http://[2001:db8::1]:8080"} {
		start := time.Now()
		code, _, stderr := runCLI(t, "runs", "list", "--api", api, "--token", "rpk_secret")
		if code != 2 || !strings.Contains(stderr, "https://") || !strings.Contains(stderr, "--insecure-http") || time.Since(start) > 2*time.Second {
			t.Errorf("--api %s: exit %d after %s, stderr %s", api, code, time.Since(start), stderr)
		}
		code, _, stderr = runCLI(t, "runs", "list", "--api", api, "--token", "rpk_secret", "--insecure-http", "--timeout", "50ms")
		if code == 2 || strings.Contains(stderr, "--insecure-http") {
			t.Errorf("--api %s --insecure-http: exit %d, stderr %s", api, code, stderr)
		}
	}
	for _, api := range []string{"http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1", "https://192.0.2.10:1"} {
		code, _, stderr := runCLI(t, "runs", "list", "--api", api, "--token", "rpk_secret", "--timeout", "50ms")
		if code == 2 || strings.Contains(stderr, "--insecure-http") {
			t.Errorf("--api %s: exit %d, stderr %s", api, code, stderr)
		}
	}
}
