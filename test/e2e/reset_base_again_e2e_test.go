package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// Run A blocks and holds. The operator resets A (run B, which claims A's
// block and holds it), then resets A again from the Temporal UI (run C,
// which claims the same block: nothing undid it). Temporal terminates B,
// and B has no reset_to (no reset was made from it), yet C carries B's
// containment on: both were reset from A. B is not "terminated by a reset
// of another run": its run_id rollback would lift the block C holds and
// will release, behind C's back.
func TestResetOfTheBaseAgainIsNotAResetOfAnotherRun(t *testing.T) {
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
	noReapply := []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL, enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE}

	wid := h.submitHold(t, "reset-base-again-1", "203.0.113.96")
	runA := h.runDetail(t, wid).RunID
	bd := resetToFirstTaskExcluding(t, h, c, wid, runA, noReapply...)
	runB := bd.RunID
	cd := resetToFirstTaskExcluding(t, h, c, wid, runA, noReapply...)
	out, _ := cd.Steps[0].Output.(map[string]any)
	if pre, _ := out[catalog.OutputPreexisting].(bool); pre || len(cd.Holds) != 1 || len(h.sys.Lab.State().BlockedIPs) != 1 {
		t.Fatalf("run C (reset from A again) did not claim A's block (output %v, holds %+v, blocked %v): the premise fails", out, cd.Holds, h.sys.Lab.State().BlockedIPs)
	}
	h.eventually(t, func() string {
		if bd = h.runDetailOf(t, wid, runB); bd.Temporal != "terminated" {
			return fmt.Sprintf("run B: temporal_status %q, want terminated by the reset", bd.Temporal)
		}
		return ""
	})
	t.Logf("run B %s: reset_from %+v, reset_to %q, terminated_by_reset %q, holds %+v", runB, bd.ResetFrom, bd.ResetTo, bd.TerminatedByReset, bd.Holds)
	if bd.TerminatedByReset != "" {
		t.Errorf("run B: terminated_by_reset %q; want none: run C was reset from A too and carries B's block on", bd.TerminatedByReset)
	}
	code, body := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), fmt.Sprintf(`{"run_id":%q}`, runB))
	if code != 409 || !strings.Contains(string(body), "riposte rollback "+wid+" rolls back the latest run") {
		t.Errorf("rollback naming run B: %d %s; want 409 naming the workflow's rollback (run C's)", code, body)
	}
	if code == 202 {
		var resp api.RollbackResponse
		_ = json.Unmarshal(body, &resp)
		h.waitRun("rollback:"+wid, time.Minute)
		if cd = h.runDetail(t, wid); len(h.sys.Lab.State().BlockedIPs) == 0 && cd.Status == workflows.RunHolding {
			t.Errorf("the rollback of run B (undo %+v) lifted the block run C holds (C: %s, holds %+v)", resp.Undo, cd.Status, cd.Holds)
		}
	}
}
