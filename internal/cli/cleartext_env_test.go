package cli

import (
	"strings"
	"testing"
)

// Every setting of the client commands has its environment variable for
// automation (RIPOSTE_API_URL, RIPOSTE_API_TOKEN, RIPOSTE_DATA_DIR,
// RIPOSTE_USER) except --insecure-http, added when the token stopped
// going over http:// to a host that is not loopback: a job that set
// RIPOSTE_API_URL=http://riposte-serve:8080 inside a mesh with mTLS
// failed on every command after the upgrade (exit 2) with no variable to
// say so once. RIPOSTE_INSECURE_HTTP is that variable; a value that is not
// a boolean is a usage error naming it.
func TestInsecureHTTPHasItsEnvironmentVariable(t *testing.T) {
	t.Setenv("RIPOSTE_API_URL", "http://192.0.2.10:8080")
	t.Setenv("RIPOSTE_API_TOKEN", "rpk_secret")
	t.Setenv("RIPOSTE_INSECURE_HTTP", "true")
	code, _, stderr := runCLI(t, "runs", "list", "--timeout", "50ms")
	if code == 2 || strings.Contains(stderr, "--insecure-http") {
		t.Errorf("RIPOSTE_INSECURE_HTTP=true: exit %d, stderr %s", code, stderr)
	}
	t.Setenv("RIPOSTE_INSECURE_HTTP", "yes please")
	code, _, stderr = runCLI(t, "runs", "list", "--timeout", "50ms")
	if code != 2 || !strings.Contains(stderr, "RIPOSTE_INSECURE_HTTP") {
		t.Errorf("RIPOSTE_INSECURE_HTTP=%q: exit %d, stderr %s", "yes please", code, stderr)
	}
}
