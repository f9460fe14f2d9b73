package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// A finding closed while run A held a block of 203.0.113.98, then reopened
// naming 203.0.113.99: A continues as run B, which blocks 203.0.113.99
// (its own hold) and inherits A's. An operator then resets the closed run
// A from the Temporal UI: Temporal terminates the running B and starts run
// C from A's history, which takes A's block on. B's own block is nobody's:
// B's release timer died with it, C's history never had it, and the
// rollback of the workflow (the latest run, C) left it: 203.0.113.99 stayed
// blocked for good. B's view says its hold was not released and names the
// rollback that undoes it (--run-id B), which lifts B's own block and
// leaves A's, which C holds.
func TestResetOfWithdrawnRunLeavesTheContinuedRunsHoldsUndoable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	blocked := func() []string {
		var out []string
		for _, b := range h.sys.Lab.State().BlockedIPs {
			out = append(out, b.IP)
		}
		slices.Sort(out)
		return out
	}

	wid, a := h.withdrawnHolding(t, holdFinding("reset-continued-1", "203.0.113.98"))
	if code, r := h.submit(holdFinding("reset-continued-1", "203.0.113.99")(holdT0+120_000, `,"activity_id":2,"status_id":1,"status":"New"`)); code >= 300 {
		t.Fatalf("reopen: %d %+v", code, r)
	}
	var b api.RunDetail
	h.eventually(t, func() string {
		b = h.runDetail(t, wid)
		if b.RunID == a.RunID || b.Status != workflows.RunHolding || len(b.Holds) != 2 {
			return fmt.Sprintf("latest run %s: %s, holds %+v; want run B holding its block and the inherited one", b.RunID, b.Status, b.Holds)
		}
		return ""
	})
	if got := blocked(); len(got) != 2 {
		t.Fatalf("blocked %v; want both addresses (the premise fails)", got)
	}

	noReapply := []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL, enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE}
	cd := resetToFirstTaskExcluding(t, h, c, wid, a.RunID, noReapply...)
	t.Logf("run C %s (reset from A %s): status %s, holds %+v", cd.RunID, a.RunID, cd.Status, cd.Holds)
	var bd api.RunDetail
	h.eventually(t, func() string {
		if bd = h.runDetailOf(t, wid, b.RunID); bd.Temporal != "terminated" {
			return fmt.Sprintf("run B: temporal_status %q, want terminated by the reset", bd.Temporal)
		}
		return ""
	})
	t.Logf("run B %s after the reset: status %s, reset_to %q, holds %+v", b.RunID, bd.Status, bd.ResetTo, bd.Holds)

	// What an operator sees of B: its own hold not released, and a
	// command that undoes it (not the workflow's rollback: that is C's).
	_, out, _ := runCLI(t, "runs", "show", wid, "--run-id", b.RunID, "--api", h.baseURL, "--token", h.token)
	if want := "riposte rollback " + wid + " --run-id " + b.RunID + " undoes it"; !strings.Contains(out, want) || !strings.Contains(out, "Terminated by a reset of another run") {
		t.Errorf("riposte runs show %s --run-id %s:\n%s\nwant it terminated by a reset of another run, its unreleased hold naming %q", wid, b.RunID, out, want)
	}
	if bd.TerminatedByReset != cd.RunID {
		t.Errorf("run B: terminated_by_reset %q, want the reset's run %s", bd.TerminatedByReset, cd.RunID)
	}
	// Run A continued as B, which took its holds over: no rollback of it.
	if code, body := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), fmt.Sprintf(`{"run_id":%q}`, a.RunID)); code != 409 || !strings.Contains(string(body), "continued as run "+b.RunID) {
		t.Errorf("rollback naming run A: %d %s; want 409 saying it continued as run B", code, body)
	}
	const unknown = "0193c1d2-7a1e-7b55-9e0c-5a2c1f9e4d11"
	if code, body := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{"run_id":"`+unknown+`"}`); code != 404 || !strings.Contains(string(body), unknown) {
		t.Errorf("rollback naming no run: %d %s; want 404 naming it", code, body)
	}
	if code, body := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{"run_id":"no-such-run"}`); code != 400 || !strings.Contains(string(body), `run_id \"no-such-run\" is not a run id`) {
		t.Errorf("rollback naming a malformed run id: %d %s; want 400 saying so", code, body)
	}

	// The rollback of the workflow is C's: it does not reach B's block.
	code, body := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), fmt.Sprintf(`{"run_id":%q}`, b.RunID))
	var resp api.RollbackResponse
	if err := json.Unmarshal(body, &resp); code != 202 || err != nil {
		t.Fatalf("rollback of run B (the run the reset of A terminated): %d %s", code, body)
	}
	if len(resp.Undo) != 1 || resp.Undo[0].Params["ip"] != "203.0.113.99" {
		t.Errorf("rollback of run B undoes %+v; want its own block of 203.0.113.99 only (run C holds A's block)", resp.Undo)
	}
	if l := resp.InheritedHoldsLeft; len(l) != 1 || l[0].CarriedBy != cd.RunID || l[0].InheritedFrom != a.RunID {
		t.Errorf("rollback of run B leaves %+v; want the hold inherited from A left to run C, which carries it", l)
	}
	if rb := h.waitRun("rollback:"+wid, time.Minute); rb.Status != workflows.RunSucceeded {
		t.Errorf("rollback of run B: %s %+v", rb.Status, rb.Undo)
	}
	if got := blocked(); !slices.Equal(got, []string{"203.0.113.98"}) {
		t.Errorf("blocked %v after the rollback of run B; want only 203.0.113.98 (run C's) left", got)
	}
	if cd = h.runDetail(t, wid); cd.RolledBackBy != "" || cd.Status != workflows.RunHolding {
		t.Errorf("run C after the rollback of run B: %s, rolled back by %q; want it holding, not marked rolled back", cd.Status, cd.RolledBackBy)
	}
	if bd = h.runDetailOf(t, wid, b.RunID); bd.RollbackRun != "rollback:"+wid || bd.RolledBackBy == "" {
		t.Errorf("run B after its rollback: rollback_run %q, rolled back by %q", bd.RollbackRun, bd.RolledBackBy)
	}
}
