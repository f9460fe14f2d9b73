package cli

import (
	"strings"
	"testing"
)

// riposte dev refuses a RIPOSTE_LOG_LEVEL or --log-level that is not a
// level (exit 2, naming the setting and the levels) before it starts
// anything, as worker and serve do (TestUnknownLogLevelIsRefusedAtStart).
// --http names a non-loopback address, which dev refuses next: an
// accepted level gets that refusal instead, so no run of this test
// starts Temporal, whatever the code does with the level.
func TestDevRefusesUnknownLogLevel(t *testing.T) {
	t.Setenv("RIPOSTE_LOG_FORMAT", "")
	const http = "192.0.2.1:18112" // TEST-NET-1, never loopback
	dev := func(args ...string) (int, string) {
		t.Helper()
		code, _, stderr := runCLI(t, append([]string{"dev", "--data-dir", t.TempDir(), "--http", http, "--temporal-port", "18113", "--ui-port", "-1"}, args...)...)
		return code, stderr
	}
	for _, lv := range []string{"inof", "warning", "verbose"} {
		t.Setenv("RIPOSTE_LOG_LEVEL", lv)
		if code, stderr := dev(); code != 2 || !strings.Contains(stderr, "RIPOSTE_LOG_LEVEL") || !strings.Contains(stderr, "debug, info, warn or error") || strings.Contains(stderr, "loopback") {
			t.Errorf("dev with RIPOSTE_LOG_LEVEL=%q: exit %d, want 2 naming RIPOSTE_LOG_LEVEL and the levels; stderr:\n%s", lv, code, stderr)
		}
	}
	t.Setenv("RIPOSTE_LOG_LEVEL", "")
	if code, stderr := dev("--log-level", "loud"); code != 2 || !strings.Contains(stderr, "--log-level") || !strings.Contains(stderr, `"loud"`) || strings.Contains(stderr, "loopback") {
		t.Errorf("dev --log-level loud: exit %d, want 2 naming --log-level; stderr:\n%s", code, stderr)
	}
	for _, lv := range []string{"debug", "INFO", " warn\n", "error", "warn+2"} {
		t.Setenv("RIPOSTE_LOG_LEVEL", lv)
		if code, stderr := dev(); code != 2 || strings.Contains(stderr, "RIPOSTE_LOG_LEVEL") || !strings.Contains(stderr, "loopback only") {
			t.Errorf("dev with RIPOSTE_LOG_LEVEL=%q (accepted): exit %d, want the --http refusal that follows; stderr:\n%s", lv, code, stderr)
		}
	}
}
