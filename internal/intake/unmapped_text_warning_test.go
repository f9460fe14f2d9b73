package intake

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/finding"
)

// TestUnmappedTextNotReadIsWarnedAbout: `unmapped` may be a JSON text of
// an object (Amazon Security Lake's OCSF 1.1 tables), walked for entities
// like the object. A text that encodes no object (cut short, a list, not
// JSON) is accepted but not read: the answer says so, naming the field,
// rather than skipping it without a word (docs/detections.md, "Types of
// what the view reads"). An object, a text of one, and an empty text draw
// no warning.
func TestUnmappedTextNotReadIsWarnedAbout(t *testing.T) {
	// The warning is the view's note (one parse of the text serves both),
	// answered among the intake's warnings as dispatch answers them.
	viewNotes := func(d Detection) []finding.Note {
		_, notes := finding.BuildNoting(d, finding.DefaultConfig())
		return notes
	}
	warning := func(unmapped string) string {
		d := decodeOne(t, validDetection)
		d["unmapped"] = unmapped
		var got []string
		for _, w := range Warnings(0, d, viewNotes(d)) {
			if w.Path == "unmapped" {
				got = append(got, w.Message)
			}
		}
		if len(got) > 1 {
			t.Errorf("unmapped %q: warned %q, want it once", unmapped, got)
		}
		if len(got) == 0 {
			return ""
		}
		return got[0]
	}
	for _, s := range []string{`{"src_ip": "203.0.113.9"`, `["203.0.113.9"]`, `not json`, `null`, `"{\"src_ip\": \"203.0.113.9\"}"`} {
		if w := warning(s); !strings.Contains(w, "not read") || !strings.Contains(w, "JSON object") {
			t.Errorf("unmapped %q: warning %q, want one saying the text is no JSON object and is not read", s, w)
		}
	}
	for _, s := range []string{`{"src_ip": "203.0.113.9"}`, ` {} `, ``, `  `} {
		if w := warning(s); w != "" {
			t.Errorf("unmapped %q: warned %q, want nothing", s, w)
		}
	}
	d := decodeOne(t, validDetection)
	d["unmapped"] = map[string]any{"src_ip": "203.0.113.9"}
	for _, w := range Warnings(0, d, viewNotes(d)) {
		if w.Path == "unmapped" {
			t.Errorf("unmapped object: warned %q", w.Message)
		}
	}
}
