package finding

import "testing"

// docs/detections.md: affected_host is "never one it names as a destination
// (dst_endpoint, or an unmapped key starting dst, destination or target)".
// Producers flatten vendor fields into unmapped with dotted, colon or slash
// keys ("target.hostname", ASFF's "aws/…" ProductFields); such a key is
// written as a quoted bracket in the source path, and the destination test
// must read it too.
func TestAffectedHostSkipsFlattenedDestinationKeys(t *testing.T) {
	for _, key := range []string{"target.hostname", "dst.hostname", "destination:host", "target/hostname", "Target.HostName"} {
		det := map[string]any{"unmapped": map[string]any{key: "dc01.corp.example"}}
		view := Build(det, DefaultConfig())
		if n := len(list(view["hosts"])); n != 1 {
			t.Fatalf("%s: hosts %v, want the target listed", key, view["hosts"])
		}
		if got := AffectedHost(view); got != "" {
			t.Errorf("unmapped[%q]: affected host %q (source %v), want none: the key names the target", key, got, obj(list(view["hosts"])[0])["source"])
		}
	}
	// A plain nested key still counts, and a source host is kept.
	det := map[string]any{"unmapped": map[string]any{"src.hostname": "ws07", "target.hostname": "dc01"}}
	if got := AffectedHost(Build(det, DefaultConfig())); got != "ws07" {
		t.Errorf("affected host %q, want ws07", got)
	}
}

// A view built before Build marked destinations (a run started earlier
// replays it) keeps the affected host it had: the mark is what changed.
func TestAffectedHostOfAnUnmarkedViewIsUnchanged(t *testing.T) {
	view := map[string]any{"hosts": []any{map[string]any{"value": "dc01", "source": `unmapped["target.hostname"]`}}}
	if got := AffectedHost(view); got != "dc01" {
		t.Errorf("affected host %q of a view without the mark, want dc01 as before", got)
	}
	view = map[string]any{"hosts": []any{map[string]any{"value": "dc01", "source": "dst_endpoint.hostname"}}}
	if got := AffectedHost(view); got != "" {
		t.Errorf("affected host %q, want none (dst_endpoint)", got)
	}
}
