package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The process logger (README, Production and Security model): text by
// default, one JSON object per line with RIPOSTE_LOG_FORMAT=json; audit
// refusals are warnings, so --log-level error drops them; a bad setting
// falls back to info and says so.
func TestProcessLogger(t *testing.T) {
	for _, tc := range []struct {
		format, level string
		json, warns   bool
	}{
		{"", "info", false, true},
		{"json", "info", true, true},
		{"json", "error", true, false},
		{"text", "warn", false, true},
	} {
		t.Setenv("RIPOSTE_LOG_FORMAT", tc.format)
		var buf bytes.Buffer
		l := newLogger(Streams{Err: &buf}, tc.level)
		l.Warn("audit: api call refused", "refusal", "missing scope approve")
		l.Error("boom")
		out := buf.String()
		if got := strings.Contains(out, "audit: api call refused"); got != tc.warns {
			t.Errorf("%s/%s: audit warning logged = %v, want %v:\n%s", tc.format, tc.level, got, tc.warns, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var m map[string]any
			isJSON := json.Unmarshal([]byte(line), &m) == nil
			if isJSON != tc.json {
				t.Errorf("%s/%s: line %q is JSON: %v, want %v", tc.format, tc.level, line, isJSON, tc.json)
			}
		}
	}
	t.Setenv("RIPOSTE_LOG_FORMAT", "xml")
	var buf bytes.Buffer
	newLogger(Streams{Err: &buf}, "loud").Info("still logs")
	if out := buf.String(); !strings.Contains(out, "ignoring log settings") || !strings.Contains(out, "still logs") {
		t.Errorf("bad settings:\n%s", out)
	}
}
