package finding

import (
	"slices"
	"testing"
)

// TestUnmappedAsJSONText: Amazon Security Lake's OCSF 1.1 tables keep
// `unmapped` as a JSON text, and records read back from them carry it as a
// string (elastic/integrations#15167 parses it for the same reason). The
// view walks such a text like the object it encodes; a text that is no JSON
// object is skipped, as before.
func TestUnmappedAsJSONText(t *testing.T) {
	ips := func(det map[string]any) []string {
		var out []string
		for _, e := range list(obj(Build(det, DefaultConfig())["ips"])["all"]) {
			out = append(out, obj(e)["value"].(string)+"@"+obj(e)["source"].(string))
		}
		return out
	}
	text := map[string]any{"unmapped": `{"ProductFields.remote_ip": "198.51.100.7", "z": {"src_ip": "203.0.113.9"}}`}
	asObject := map[string]any{"unmapped": map[string]any{"ProductFields.remote_ip": "198.51.100.7", "z": map[string]any{"src_ip": "203.0.113.9"}}}
	want := []string{`198.51.100.7@unmapped["ProductFields.remote_ip"]`, "203.0.113.9@unmapped.z.src_ip"}
	if got := ips(asObject); !slices.Equal(got, want) {
		t.Fatalf("premise: unmapped object read as %q, want %q", got, want)
	}
	if got := ips(text); !slices.Equal(got, want) {
		t.Errorf("unmapped as JSON text read as %q, want %q", got, want)
	}
	for _, s := range []string{"", "not json", `["203.0.113.9"]`, `"203.0.113.9"`, `{"src_ip": "203.0.113.9"`} {
		if got := ips(map[string]any{"unmapped": s}); len(got) != 0 {
			t.Errorf("unmapped %q read as %q, want nothing", s, got)
		}
	}
	// A workflow rebuilding the view of a run recorded without one reads
	// it as it was then: the text is not read.
	legacy := DefaultConfig()
	legacy.UnmappedObjectOnly = true
	if got := list(obj(Build(text, legacy)["ips"])["all"]); len(got) != 0 {
		t.Errorf("UnmappedObjectOnly: unmapped text read as %v", got)
	}
}
