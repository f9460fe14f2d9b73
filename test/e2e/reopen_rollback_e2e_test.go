package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// A rollback asked of a withdrawn run that still holds a block, with the
// record reopening its finding right behind it. The rollback of a
// withdrawn running run starts with a delay (so that the API can stop it
// should the run continue before its mark arrives, internal/api
// TestRollbackAskedJustBeforeTheHandoverIsRefused): here the mark reaches
// the run first, which takes it, waits for the rollback, and only then
// continues for the reopened finding, handing nothing over; the new run
// blocks the address again itself. Against the embedded Temporal server:
// its start delay holds the rollback back, and the block is lifted once,
// by the rollback.
func TestRollbackOfWithdrawnRunThenReopened(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	if *record {
		dir = recordingDir(t) // the replay guard's key
	}
	h := startDevForTest(t, dir)
	defer h.sys.Close()
	finding := holdFinding("reopen-rollback-1", "203.0.113.92")
	// Blocked and held, then closed by its detector: withdrawn, holding on.
	wid, first := h.withdrawnHolding(t, finding)
	asked := time.Now()
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
	var resp api.RollbackResponse
	if err := json.Unmarshal(b, &resp); code != 202 || err != nil || len(resp.Undo) != 1 || len(resp.InheritedHoldsLeft) != 0 {
		t.Fatalf("rollback of the withdrawn run: %d %s; want 202 undoing its block", code, b)
	}
	// The reopening record, right behind the rollback.
	if code, r := h.submit(finding(holdT0+120_000, `,"activity_id":2,"status_id":1,"status":"New"`)); code >= 300 {
		t.Fatalf("reopen: %d %+v", code, r)
	}
	rb := h.waitRun("rollback:"+wid, time.Minute)
	if rb.Status != workflows.RunSucceeded || rb.StartedAt.Sub(asked) > 2*time.Second {
		t.Errorf("rollback %s, started %s after it was asked", rb.Status, rb.StartedAt.Sub(asked))
	}
	if rb.ClosedAt == nil || rb.ClosedAt.Sub(asked) < 2*time.Second {
		t.Errorf("rollback ended at %v, asked at %s: want it begun after its start delay", rb.ClosedAt, asked)
	}
	var next api.RunDetail
	h.eventually(t, func() string {
		next = h.runDetail(t, wid)
		if next.RunID == first.RunID || next.Status != workflows.RunHolding {
			return fmt.Sprintf("latest run %s: %s; want a new run holding", next.RunID, next.Status)
		}
		return ""
	})
	if next.ReopenedFrom != first.RunID || len(next.Holds) != 1 || next.Holds[0].Step != "block" || next.Holds[0].InheritedFrom != "" {
		t.Errorf("new run: reopened_from %q, holds %+v; want its own hold of the block, nothing inherited (the rollback released the first run's)", next.ReopenedFrom, next.Holds)
	}
	if out, _ := next.Steps[0].Output.(map[string]any); out["already"] == true {
		t.Errorf("new run's block: %v; want a fresh block (the rollback lifted the first one)", out)
	}
	old := h.runDetailOf(t, wid, first.RunID)
	if old.ContinuedAs != next.RunID || old.RolledBackBy != "U0SOCLEAD1" {
		t.Errorf("first run: continued_as %q (want %s), rolled_back_by %q", old.ContinuedAs, next.RunID, old.RolledBackBy)
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 1 {
		t.Errorf("blocked %+v; want the new run's block", blocked)
	}
	if *record {
		// A rollback started with mark_first that found its mark taken
		// (rollback-mark-first), and the withdrawn run that took the mark,
		// waited for it and continued.
		saveHistory(t, h.sys.Client, "rollback:"+wid, rb.RunID, *recordPrefix+"rollback-mark-first-taken")
		saveHistory(t, h.sys.Client, wid, first.RunID, *recordPrefix+"reopen-rolled-back-continued")
		copyStore(t, h.dir)
	}
}
