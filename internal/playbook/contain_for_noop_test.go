package playbook_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// contain_for promises a time box: "released by its undo when a durable
// timer fires" (README, Undo and time-boxed containment). A contain action
// whose undo is core.noop (http.request, entra.revoke_sessions,
// okta.clear_user_sessions) cannot be released: the hold used to be
// accepted, the run showed "holding" until the time, then the hold
// "released" without error while the block an http.request made, say,
// stayed in place for good. Such a contain_for is refused, naming the
// action and why.
func TestContainForOnActionWithoutUndoIsRefused(t *testing.T) {
	for _, step := range []string{
		`
  - id: block
    action: http.request
    with: {connection: edr, method: POST, path: /block, body: {ip: 203.0.113.7}}
    approval: auto
    contain_for: 4h`,
		`
  - id: revoke
    action: entra.revoke_sessions
    with: {user: a@example.com}
    approval: auto
    contain_for: 4h`,
	} {
		src := `apiVersion: riposte/v1
name: noop-hold
version: 1
trigger: {when: 'true'}
steps:` + step + "\n"
		_, diags := playbook.LoadBytes("noop-hold.yaml", []byte(src), activities.Catalog())
		found := false
		for _, d := range diags {
			if strings.Contains(d.Message, "contain_for") && !d.IsWarning() {
				found = true
			}
		}
		if !found {
			t.Errorf("contain_for on an action whose undo is core.noop was accepted (diagnostics %v):%s", diags, step)
		}
		// A version an earlier release stored (runs may be in flight with
		// it) still loads, and replays as it ran.
		if _, diags := playbook.LoadStored("noop-hold.yaml", []byte(src), activities.Catalog()); len(diags) > 0 {
			t.Errorf("stored version refused: %v", diags)
		}
	}
}
