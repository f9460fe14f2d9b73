package cli

import (
	"strings"
	"testing"
)

// The shared token decides as RIPOSTE_USER: like a personal token's
// --user, it must be a Slack user id, or four-eyes sees the person's
// dev-token vote and their Slack click as two people.
func TestDevUserMustBeSlackUserID(t *testing.T) {
	for _, bad := range []string{"alice@example.com", "alice", "U0 SOC"} {
		t.Setenv("RIPOSTE_USER", bad)
		if u, err := devUser(); err == nil || !strings.Contains(err.Error(), "not a Slack user id") {
			t.Errorf("RIPOSTE_USER=%q: %q, %v; want refused", bad, u, err)
		}
	}
	for _, good := range []string{"", "U0SOCLEAD1", " W0ENTERPR1 "} {
		t.Setenv("RIPOSTE_USER", good)
		if u, err := devUser(); err != nil || u != strings.TrimSpace(good) {
			t.Errorf("RIPOSTE_USER=%q: %q, %v", good, u, err)
		}
	}
}
