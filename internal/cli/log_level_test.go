package cli

import (
	"strings"
	"testing"
)

// TestUnknownLogLevelIsRefusedAtStart: RIPOSTE_LOG_LEVEL (or --log-level)
// that is not a level (a typo such as "inof" or "warning" in a
// production ConfigMap) only warned "ignoring log settings" and ran at
// info, so the debug logs asked for never came, or the noise meant to be
// cut stayed. worker and serve refuse it at start (exit 2) naming the
// variable and the levels; the accepted spellings (any case, whitespace
// around, slog's offsets such as warn+2) keep working.
func TestUnknownLogLevelIsRefusedAtStart(t *testing.T) {
	t.Setenv("RIPOSTE_CODEC_KEY_FILE", "")
	t.Setenv("RIPOSTE_CODEC_KEYS", "")
	t.Setenv("RIPOSTE_DECISION_KEY_FILE", "")
	t.Setenv("RIPOSTE_POLICY", "")
	t.Setenv("RIPOSTE_METRICS_ADDR", "")
	t.Setenv("RIPOSTE_LOG_FORMAT", "")
	t.Setenv("RIPOSTE_NO_ENCRYPTION", "true")
	t.Setenv("RIPOSTE_DECISION_KEYS", `{"active":"k1","keys":{"k1":"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}}`)
	// Nothing listens there: a process that got past its settings fails
	// to connect (exit 1), never with a usage error.
	t.Setenv("TEMPORAL_ADDRESS", freeAddr(t))
	t.Setenv("RIPOSTE_API_TOKEN", "a-test-token-of-32-characters-or-more-0123456789")
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("SLACK_APP_TOKEN", "")
	for _, cmd := range []string{"worker", "serve"} {
		for _, lv := range []string{"inof", "warning", "verbose"} {
			t.Setenv("RIPOSTE_LOG_LEVEL", lv)
			code, _, stderr := runCLI(t, cmd, "--playbooks", t.TempDir())
			if code != 2 || !strings.Contains(stderr, "RIPOSTE_LOG_LEVEL") || !strings.Contains(stderr, "debug, info, warn or error") {
				t.Errorf("%s with RIPOSTE_LOG_LEVEL=%q: exit %d, want 2 naming RIPOSTE_LOG_LEVEL and the levels; stderr:\n%s", cmd, lv, code, stderr)
			}
		}
		for _, lv := range []string{"", "debug", "INFO", " warn\n", "error", "warn+2"} {
			t.Setenv("RIPOSTE_LOG_LEVEL", lv)
			code, _, stderr := runCLI(t, cmd, "--playbooks", t.TempDir())
			if code == 2 || strings.Contains(stderr, "RIPOSTE_LOG_LEVEL") || strings.Contains(stderr, "ignoring log settings") {
				t.Errorf("%s with RIPOSTE_LOG_LEVEL=%q (accepted): exit %d; stderr:\n%s", cmd, lv, code, stderr)
			}
		}
	}
}
