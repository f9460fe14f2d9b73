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
// is refused naming it (exit 2), never run at another level than asked.
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
		l, err := newLogger(Streams{Err: &buf}, tc.level)
		if err != nil {
			t.Fatalf("%s/%s: %v", tc.format, tc.level, err)
		}
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
	t.Setenv("RIPOSTE_LOG_FORMAT", "")
	if _, err := newLogger(Streams{Err: &bytes.Buffer{}}, "loud"); err == nil || !strings.Contains(err.Error(), "RIPOSTE_LOG_LEVEL") {
		t.Errorf("level loud: %v, want a refusal naming RIPOSTE_LOG_LEVEL", err)
	}
	t.Setenv("RIPOSTE_LOG_FORMAT", "xml")
	if _, err := newLogger(Streams{Err: &bytes.Buffer{}}, "info"); err == nil || !strings.Contains(err.Error(), "RIPOSTE_LOG_FORMAT") {
		t.Errorf("format xml: %v, want a refusal naming RIPOSTE_LOG_FORMAT", err)
	}
}
