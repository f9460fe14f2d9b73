package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSetupRefusesUnreadableTLSFilesAtOnce: riposte setup checks every
// flag before connecting ("a usage error must not wait for Temporal
// first"), but a client certificate or CA file it cannot use (missing,
// not PEM, a key every user may read) was found only when dialling, and
// dialling is retried until --wait (2 minutes by default) has passed: the
// compose and Kubernetes setup jobs spent their wait, then exited 1 as if
// Temporal were down. A TLS file that cannot be used is a usage error:
// exit 2 at once, naming the file.
func TestSetupRefusesUnreadableTLSFilesAtOnce(t *testing.T) {
	for _, v := range []string{"TEMPORAL_TLS", "TEMPORAL_API_KEY", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME"} {
		t.Setenv(v, "")
	}
	missing := filepath.Join(t.TempDir(), "client.pem")
	start := time.Now()
	code, _, stderr := runCLI(t, "setup", "--temporal-address", "127.0.0.1:1", "--namespace", "riposte",
		"--tls-cert", missing, "--tls-key", missing, "--wait", "5s")
	if took := time.Since(start); code != 2 || took > 2*time.Second || !strings.Contains(stderr, "client.pem") {
		t.Errorf("setup with a missing client certificate: exit %d after %s, want 2 at once naming the file; stderr:\n%s", code, took.Round(time.Millisecond), stderr)
	}
}
