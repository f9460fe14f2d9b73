package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// riposte holds counted every note on a hold as an extension: a for_each
// hold one of whose targets a later step released early (the others still
// held) was listed as extended once, though nobody extended it.
func TestHoldsCountsOnlyExtensions(t *testing.T) {
	until := time.Now().Add(3 * time.Hour)
	srv := fakeAPI(t, map[string]any{"/v1/holds": map[string]any{"holds": []api.ActiveHold{{
		Hold: workflows.Hold{Step: "block", Undo: "panos.unblock_ip", Until: until,
			Extensions: []string{"one target released early by step unblock (target 1; the others stay held)"}},
		WorkflowID: "pb:x", RunID: "r1", Playbook: "pb"}}}})
	code, out, stderr := runCLI(t, "holds", "--api", srv.URL, "--token", "t")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasSuffix(strings.TrimSpace(lines[1]), " 0") {
		t.Errorf("riposte holds lists a hold nobody extended with extensions:\n%s", out)
	}
}
