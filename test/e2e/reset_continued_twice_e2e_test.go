package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// As in TestResetOfWithdrawnRunLeavesTheContinuedRunsHoldsUndoable: A
// continued as B (blocking 203.0.113.89), and a reset of A terminated B
// and started C. B's rollback (run_id B) lifted B's block and succeeded;
// then the workflow's rollback (C's) ran: rollback:ID's latest run is C's.
// B's view read only that latest run, found it planned for another run,
// and said again that B's block stays in place, naming the --run-id
// rollback; and that rollback, asked again, started anew and lifted the
// address a second time, though another run had blocked it again since.
func TestRollbackOfTheResetTerminatedRunIsNotForgotten(t *testing.T) {
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

	wid, a := h.withdrawnHolding(t, holdFinding("reset-continued-twice-1", "203.0.113.88"))
	if code, r := h.submit(holdFinding("reset-continued-twice-1", "203.0.113.89")(holdT0+120_000, `,"activity_id":2,"status_id":1,"status":"New"`)); code >= 300 {
		t.Fatalf("reopen: %d %+v", code, r)
	}
	var b api.RunDetail
	h.eventually(t, func() string {
		if b = h.runDetail(t, wid); b.RunID == a.RunID || b.Status != workflows.RunHolding || len(b.Holds) != 2 {
			return fmt.Sprintf("latest run %s: %s, holds %+v; want run B holding its block and the inherited one", b.RunID, b.Status, b.Holds)
		}
		return ""
	})
	noReapply := []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL, enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE}
	cd := resetToFirstTaskExcluding(t, h, c, wid, a.RunID, noReapply...)
	h.eventually(t, func() string {
		if bd := h.runDetailOf(t, wid, b.RunID); bd.TerminatedByReset != cd.RunID {
			return fmt.Sprintf("run B: terminated_by_reset %q, want %s", bd.TerminatedByReset, cd.RunID)
		}
		return ""
	})
	rollback := func(body string) (int, api.RollbackResponse, []byte) {
		code, out := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), body)
		var resp api.RollbackResponse
		_ = json.Unmarshal(out, &resp)
		return code, resp, out
	}
	byRunID := fmt.Sprintf(`{"run_id":%q}`, b.RunID)
	code, rbB, out := rollback(byRunID)
	if code != 202 {
		t.Fatalf("rollback of run B: %d %s (the premise fails)", code, out)
	}
	if x := h.waitRun("rollback:"+wid, time.Minute); x.Status != workflows.RunSucceeded || !slices.Equal(blocked(), []string{"203.0.113.88"}) {
		t.Fatalf("rollback of run B: %s, blocked %v (the premise fails)", x.Status, blocked())
	}
	if code, _, out := rollback(`{}`); code != 202 {
		t.Fatalf("rollback of run C: %d %s (the premise fails)", code, out)
	}
	h.eventually(t, func() string {
		if x := h.runDetailOf(t, wid, cd.RunID); x.RollbackStatus != workflows.RunSucceeded || len(blocked()) != 0 {
			return fmt.Sprintf("run C: rollback %q, blocked %v; want C's rollback succeeded", x.RollbackStatus, blocked())
		}
		return ""
	})

	if bd := h.runDetailOf(t, wid, b.RunID); bd.RolledBackBy == "" || bd.RollbackStatus != workflows.RunSucceeded {
		t.Errorf("run B after C's rollback: rolled back by %q, rollback %q; want its own rollback (%s) still shown", bd.RolledBackBy, bd.RollbackStatus, rbB.RunID)
	}
	// Another finding blocks B's address again; B's rollback asked again
	// must not lift it.
	h.submitHold(t, "reset-continued-twice-other", "203.0.113.89")
	code, again, out := rollback(byRunID)
	if code >= 300 || !again.Existing || again.RunID != rbB.RunID {
		t.Errorf("rollback of run B asked again: %d %s; want its rollback %s answered as existing", code, out, rbB.RunID)
	}
	time.Sleep(2 * time.Second)
	if got := blocked(); !slices.Equal(got, []string{"203.0.113.89"}) {
		t.Errorf("blocked %v; want the other run's block of 203.0.113.89 in place", got)
	}
}
