package e2e

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// Run A blocks and holds. A is reset (run B): B finds A's block in place
// and claims it (A applied it). The API's rollback names the latest run,
// B, and lifts the block. Another run blocks the same IP and holds it.
// The operator resets A again (the Temporal UI resets any run): run C,
// reset from A, finds the other run's block. Nothing naming A undid A's
// block, so C claimed it, held it and would lift it at its release or
// rollback. B carried A's block on: its rollback undid A's block too.
func TestResetAgainAfterTheFirstResetRunsRollback(t *testing.T) {
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

	hold := func(uid string) string { return h.submitHold(t, uid, "203.0.113.97") }
	noReapply := []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL, enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE}

	wid := hold("reset-again-1")
	runA := h.runDetail(t, wid).RunID
	d := resetToFirstTaskExcluding(t, h, c, wid, runA, noReapply...)
	if out, _ := d.Steps[0].Output.(map[string]any); out[catalog.OutputPreexisting] == true || len(h.sys.Lab.State().BlockedIPs) != 1 {
		t.Fatalf("run B did not claim run A's block (output %v, blocked %v): the premise fails", out, h.sys.Lab.State().BlockedIPs)
	}
	runB := d.RunID
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("USOC"), `{}`)
	var rb api.RollbackResponse
	if code != 202 || json.Unmarshal(b, &rb) != nil {
		t.Fatalf("rollback of run B: %d %s (the premise fails)", code, b)
	}
	if x := h.waitRun("rollback:"+wid, time.Minute); x.Status != workflows.RunSucceeded || len(h.sys.Lab.State().BlockedIPs) != 0 {
		t.Fatalf("rollback of run B: %s, blocked %v (the premise fails)", x.Status, h.sys.Lab.State().BlockedIPs)
	}
	other := hold("reset-again-other")

	d = resetToFirstTaskExcluding(t, h, c, wid, runA, noReapply...)
	out, _ := d.Steps[0].Output.(map[string]any)
	t.Logf("run C (reset from A %s again, after B %s): status %s, block %s, output %v, holds %+v", runA, runB, d.Status, d.Steps[0].Status, out, d.Holds)
	if pre, _ := out[catalog.OutputPreexisting].(bool); !pre {
		t.Errorf("run C took run %s's block for its own (output %v, holds %d): run B, which carried run A's block on, had it rolled back", other, out, len(d.Holds))
	}
}
