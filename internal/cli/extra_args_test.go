package cli

import (
	"strings"
	"testing"
)

// A command that takes no arguments ignored the ones it was given:
// `riposte dev my-playbooks` ran the playbooks of ./playbooks, `riposte runs
// list failed` listed every run as if filtered. Each refuses them (exit 2,
// the usage code, as holds, ui-links and setup do) and names the flag that
// does what was meant. Every case also has a setting the command refuses
// right after parsing, so that the command, when it ignores the argument,
// stops there instead of starting a server.
func TestCommandsWithoutArgumentsRefuseThem(t *testing.T) {
	for _, tc := range []struct {
		args []string
		hint string
	}{
		{[]string{"dev", "my-playbooks", "--sticky-cache", "0", "--data-dir", t.TempDir()}, "--playbooks"},
		{[]string{"worker", "my-playbooks", "--sticky-cache", "0"}, "--playbooks"},
		{[]string{"serve", "my-playbooks", "--shutdown-delay", "soon"}, "--playbooks"},
		{[]string{"doctor", "my-playbooks", "--temporal-address", "127.0.0.1:1", "--timeout", "1ms"}, ""},
		{[]string{"actions", "my-playbooks", "--format", "yaml"}, "--format"},
		{[]string{"approvals", "my-playbooks", "--api", "http://127.0.0.1:1"}, "riposte runs show"},
		{[]string{"runs", "list", "my-playbooks", "--api", "http://127.0.0.1:1"}, "--playbook"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, `"my-playbooks"`) || !strings.Contains(stderr, tc.hint) {
			t.Errorf("riposte %s: exit %d, want 2 naming the argument and %q; stderr:\n%.400s", strings.Join(tc.args, " "), code, tc.hint, stderr)
		}
	}
}

// riposte runs list --limit outside 1..1000 (what GET /v1/runs accepts) is
// a usage error, refused before calling the API (exit 2), as the filters
// are; it was sent, and the API's 400 made it exit 1.
func TestRunsListLimitIsAUsageError(t *testing.T) {
	for _, limit := range []string{"0", "-5", "1001"} {
		code, _, stderr := runCLI(t, "runs", "list", "--limit", limit, "--api", "http://127.0.0.1:1")
		if code != 2 || !strings.Contains(stderr, "--limit "+limit) || !strings.Contains(stderr, "1 to 1000") {
			t.Errorf("--limit %s: exit %d, stderr %s", limit, code, stderr)
		}
	}
}
