package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// A run that applied its containment and holds it until the release
// (contain_for) has no outcome yet: the run records it when it ends. The
// OUTCOME column of riposte runs list showed "-" for it, as for a run
// that has done nothing, and runs show printed no outcome line: an
// analyst scanning the list could not tell a holding run's outcome. The
// column says the outcome is pending while the run holds; a run Temporal
// ended while it held (terminated: it will record no outcome) keeps "-".
func TestRunsListShowsAHoldingRunsOutcomeAsPending(t *testing.T) {
	at := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	until := at.Add(24 * time.Hour)
	ended := at.Add(time.Hour)
	var b bytes.Buffer
	printRuns(&b, []api.RunSummary{
		{WorkflowID: "det-1/block-c2-beaconing", Playbook: "block-c2-beaconing", Version: 3, Status: workflows.RunHolding,
			Mode: "live", StartedAt: at, Kind: api.KindPlaybook, HoldUntil: &until},
		{WorkflowID: "det-2/block-c2-beaconing", Playbook: "block-c2-beaconing", Version: 3, Status: api.StatusTerminated,
			Mode: "live", StartedAt: at, ClosedAt: &ended, Kind: api.KindPlaybook},
	})
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("runs list printed:\n%s", b.String())
	}
	if f := strings.Fields(lines[1]); len(f) < 7 || f[5] != workflows.RunHolding || f[6] != "pending" || !strings.Contains(lines[1], "pending (holding)") {
		t.Errorf("runs list of a holding run printed:\n%s\nwant OUTCOME pending (holding)", b.String())
	}
	if f := strings.Fields(lines[2]); len(f) < 7 || f[6] != "-" {
		t.Errorf("runs list of a run terminated while it held printed:\n%s\nwant OUTCOME -", b.String())
	}

	// runs show: the outcome line says the same, and when it is recorded.
	d := &api.RunDetail{RunSummary: api.RunSummary{WorkflowID: "det-1/block-c2-beaconing", RunID: "r1", Kind: api.KindPlaybook,
		Playbook: "block-c2-beaconing", Version: 3, Status: workflows.RunHolding, HoldUntil: &until},
		Holds: []workflows.Hold{{Step: "block", Undo: "panos.unblock_ip", Until: until}}}
	b.Reset()
	printRun(&b, d)
	if !strings.Contains(b.String(), "  outcome:   pending (holding): ") {
		t.Errorf("runs show of a holding run printed:\n%s\nwant an outcome line saying it is pending", b.String())
	}
}
