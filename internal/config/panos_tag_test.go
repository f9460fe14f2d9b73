package config

import (
	"strings"
	"testing"
)

// A panos connection whose tag is itself named riposte.X is the owner tag
// a block with tag X registers beside it (activities/panos ownerTag): an
// undo of an X block through Panorama takes a block with that tag for
// Riposte's own and lifts it, and a block with that tag claims X's blocks.
// Refused when the file is loaded, naming the connection and its key, and
// saying what to use.
func TestPanosTagWithTheOwnerTagPrefixIsRefused(t *testing.T) {
	src := func(tag string) []byte {
		return []byte("connections:\n  fw:\n    type: panos\n    base_url: https://fw.example.com\n    api_key: {env: K}\n    tag: " + tag + "\n")
	}
	env := map[string]string{"K": "v", "PANOS_TAG": "riposte.quarantine"}
	for _, tag := range []string{"riposte.blocked", "Riposte.blocked", "${PANOS_TAG}"} {
		_, diags := ParseConnections("f.yaml", src(tag), testOptions(env))
		got := diags.Error()
		if diags.Err() == nil || !strings.HasPrefix(got, "f.yaml:6:10: connection fw: tag ") || !strings.Contains(got, `"riposte."`) || !strings.Contains(got, "use a tag without it") {
			t.Errorf("tag %s: diagnostics %q, want an error at the tag naming connection fw's tag, the riposte. prefix and what to use", tag, got)
		}
	}
	for _, tag := range []string{"riposte-blocked", "riposte blocked", "blocked.riposte.x"} {
		if _, diags := ParseConnections("f.yaml", src(tag), testOptions(env)); diags.Err() != nil {
			t.Errorf("tag %s: %v", tag, diags)
		}
	}
}

// The refusal breaks a riposte.yaml that loaded before it: addresses
// blocked with that tag stay tagged after the operator renames it, and the
// undos still pending (a rollback, a hold's release) take the connection's
// new tag and lift nothing. The message says so, and how to lift them.
func TestPanosTagRefusalSaysHowToLiftEarlierBlocks(t *testing.T) {
	src := []byte("connections:\n  fw:\n    type: panos\n    base_url: https://fw.example.com\n    api_key: {env: K}\n    tag: riposte.blocked\n")
	_, diags := ParseConnections("f.yaml", src, testOptions(map[string]string{"K": "v"}))
	got := diags.Error()
	if !strings.Contains(got, "panos.unblock_ip") || !strings.Contains(got, `tag: riposte.blocked`) {
		t.Errorf("diagnostics %q: want them to say that blocks put with the tag are lifted by panos.unblock_ip with tag: riposte.blocked", got)
	}
}
