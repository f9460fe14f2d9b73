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

// OCSF 2004 puts the connection in evidences[], and producers list its
// entities as observables too, each named by its path
// (observables[].name "evidences[0].dst_endpoint.hostname"). The view
// reads observables before evidences and keeps a host once, with the
// first path it saw: a target listed first among the observables was
// "observables[0]", not a destination, and affected_host named the
// domain controller a credential-theft alert attacked (contained by the
// shipped playbooks, without a human at 90%). An observable whose name
// is a destination path names a destination.
func TestAffectedHostSkipsObservablesNamedAsDestination(t *testing.T) {
	det := map[string]any{
		"evidences": []any{map[string]any{
			"src_endpoint": map[string]any{"hostname": "fin-ws-042"},
			"dst_endpoint": map[string]any{"hostname": "dc01.corp.example.com"},
		}},
		"observables": []any{
			map[string]any{"name": "evidences[0].dst_endpoint.hostname", "type_id": 1, "type": "Hostname", "value": "dc01.corp.example.com"},
			map[string]any{"name": "evidences[0].src_endpoint.hostname", "type_id": 1, "type": "Hostname", "value": "fin-ws-042"},
		},
	}
	view := Build(det, DefaultConfig())
	if got := AffectedHost(view); got != "fin-ws-042" {
		t.Errorf("affected host %q, want fin-ws-042 (hosts %v)", got, view["hosts"])
	}
	if h := obj(list(view["hosts"])[0]); h["value"] != "dc01.corp.example.com" || h["destination"] != true {
		t.Errorf("first host %v, want the target marked destination", h)
	}
	// Only the target named so: an observable named by another path, or
	// by none, is still a host the finding is about.
	for _, name := range []any{"device.hostname", "", nil} {
		det := map[string]any{"observables": []any{map[string]any{"name": name, "type_id": 1, "value": "ws07"}}}
		if got := AffectedHost(Build(det, DefaultConfig())); got != "ws07" {
			t.Errorf("observable named %v: affected host %q, want ws07", name, got)
		}
	}
}
