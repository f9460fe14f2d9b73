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

// A reset run claims what it finds in place when the run it was reset from
// "made the same call and applied it" (README, Undo). That run may also
// have released it since (its contain_for ran out): what the reset run
// finds in place is then not that run's any more but someone else's
// (here another run's block, held for 2h). The worker took the applied
// call for proof and ignored the release after it, so the reset run
// claimed the other run's block, held it for its own contain_for, and
// released it: the other run's containment was lifted.
func TestResetRunAfterItsReleaseDoesNotClaimSomeoneElsesBlock(t *testing.T) {
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

	// Run A blocks the IP for 3s, releases it and completes.
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":2,"finding_info":{"uid":"reset-rel-1"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.94"},"unmapped":{"timebox":true}}`)
	if code != 202 {
		t.Fatalf("submit A: %d", code)
	}
	wid := matched(t, r, "e2e-timebox")
	a := h.waitRun(wid, time.Minute)
	if a.Status != workflows.RunSucceeded || len(h.sys.Lab.State().BlockedIPs) != 0 {
		t.Fatalf("run A after contain_for: %s, blocked %+v (the premise fails)", a.Status, h.sys.Lab.State().BlockedIPs)
	}
	// Another run (another finding) blocks the same IP and holds it.
	code, r = h.submit(`{"class_uid":2004,"time":2,"severity_id":4,"finding_info":{"uid":"reset-rel-other"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.94"},"unmapped":{"hold_case":true}}`)
	if code != 202 {
		t.Fatalf("submit other: %d", code)
	}
	other := matched(t, r, "e2e-hold")
	for deadline := time.Now().Add(30 * time.Second); h.runDetail(t, other).Status != workflows.RunHolding; time.Sleep(150 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the other run never showed holding")
		}
	}

	// Reset run A to its first task (an operator re-running it).
	d := resetToFirstTask(t, h, c, wid, a.RunID)
	out, _ := d.Steps[0].Output.(map[string]any)
	t.Logf("reset run: status %s, block %s, output %v, holds %+v", d.Status, d.Steps[0].Status, out, d.Holds)
	if pre, _ := out[catalog.OutputPreexisting].(bool); !pre {
		t.Errorf("the reset run took the other run's block for its own (output %v): run A had released its block, what is in place is someone else's", out)
	}
	time.Sleep(5 * time.Second) // past the reset run's contain_for (3s)
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 1 {
		t.Errorf("blocked %v while the other run %s still holds its block: the reset run's release lifted it", blocked, other)
	}
}

// The same when the run it was reset from had its block lifted by riposte
// rollback (a workflow of its own, rollback:<id>, whose undo calls name
// the run they undo): what the reset run finds in place afterwards is
// another run's block, not its own.
func TestResetRunAfterItsRollbackDoesNotClaimSomeoneElsesBlock(t *testing.T) {
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

	hold := func(uid string) string { return h.submitHold(t, uid, "203.0.113.95") }
	wid := hold("reset-rb-1")
	runA := h.runDetail(t, wid).RunID
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("USOC"), `{}`)
	if code >= 300 {
		t.Fatalf("rollback of run A: %d %s", code, b)
	}
	if rb := h.waitRun("rollback:"+wid, time.Minute); rb.Status != workflows.RunSucceeded || len(h.sys.Lab.State().BlockedIPs) != 0 {
		t.Fatalf("rollback of run A: %s, blocked %v (the premise fails)", rb.Status, h.sys.Lab.State().BlockedIPs)
	}
	other := hold("reset-rb-other")

	// Reset without reapplying signals (the UI's box unticked): the
	// rollback's request is not replayed into the new run, which runs the
	// block step again.
	d := resetToFirstTaskExcluding(t, h, c, wid, runA, enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL, enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE)
	out, _ := d.Steps[0].Output.(map[string]any)
	t.Logf("reset run: status %s, block %s, output %v, holds %+v", d.Status, d.Steps[0].Status, out, d.Holds)
	if pre, _ := out[catalog.OutputPreexisting].(bool); !pre {
		t.Errorf("the reset run took run %s's block for its own (output %v, holds %d): run A's block had been rolled back; its rollback or contain_for release lifts the other run's containment", other, out, len(d.Holds))
	}
}

// The same when the rollback that lifted the base run's block is no longer
// the latest run of rollback:<id>: the API starts that id again (here for
// a reset run of the same workflow, after the first rollback), and the
// worker read only the latest run, whose undo names another run. Run A
// blocks, rollback X1 lifts it; A is reset (run A'), A' blocks again and
// rollback X2 lifts that; another run holds the block; A is reset again
// from A itself: its reset run must find the block someone else's.
func TestResetRunReadsEveryRollbackRun(t *testing.T) {
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

	hold := func(uid string) string { return h.submitHold(t, uid, "203.0.113.96") }
	rollback := func(wid, what string) string {
		code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("USOC"), `{}`)
		var rb api.RollbackResponse
		if code != 202 || json.Unmarshal(b, &rb) != nil {
			t.Fatalf("rollback of %s: %d %s (the premise fails: want a new rollback run)", what, code, b)
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(150 * time.Millisecond) {
			d := h.waitRun("rollback:"+wid, time.Minute)
			if d.RunID == rb.RunID {
				if d.Status != workflows.RunSucceeded || len(h.sys.Lab.State().BlockedIPs) != 0 {
					t.Fatalf("rollback of %s: %s, blocked %v (the premise fails)", what, d.Status, h.sys.Lab.State().BlockedIPs)
				}
				return rb.RunID
			}
			if time.Now().After(deadline) {
				t.Fatalf("rollback run %s of %s never ended", rb.RunID, what)
			}
		}
	}
	noReapply := []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL, enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE}

	wid := hold("reset-rb2-1")
	runA := h.runDetail(t, wid).RunID
	x1 := rollback(wid, "run A")
	// Nothing in place: the reset run A' blocks on its own, then its
	// rollback X2 runs under the same id as X1.
	d := resetToFirstTaskExcluding(t, h, c, wid, runA, noReapply...)
	if out, _ := d.Steps[0].Output.(map[string]any); out[catalog.OutputPreexisting] == true || len(h.sys.Lab.State().BlockedIPs) != 1 {
		t.Fatalf("run A' blocked nothing of its own (output %v, blocked %v): the premise fails", out, h.sys.Lab.State().BlockedIPs)
	}
	if x2 := rollback(wid, "run A'"); x2 == x1 {
		t.Fatalf("the second rollback is the first one (%s): the premise fails", x1)
	}
	other := hold("reset-rb2-other")

	d = resetToFirstTaskExcluding(t, h, c, wid, runA, noReapply...)
	out, _ := d.Steps[0].Output.(map[string]any)
	t.Logf("reset run: status %s, block %s, output %v, holds %+v", d.Status, d.Steps[0].Status, out, d.Holds)
	if pre, _ := out[catalog.OutputPreexisting].(bool); !pre {
		t.Errorf("the reset run took run %s's block for its own (output %v, holds %d): run A's block had been rolled back by %s, an earlier run of rollback:%s than the latest", other, out, len(d.Holds), x1, wid)
	}
}

// submitHold submits an e2e-hold detection of finding uid blocking ip and
// waits until its run holds; it returns the run's workflow id.
func (h *devHarness) submitHold(t *testing.T, uid, ip string) string {
	t.Helper()
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"` + uid + `"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"` + ip + `"},"unmapped":{"hold_case":true}}`)
	if code != 202 {
		t.Fatalf("submit %s: %d", uid, code)
	}
	wid := matched(t, r, "e2e-hold")
	for deadline := time.Now().Add(30 * time.Second); h.runDetail(t, wid).Status != workflows.RunHolding; time.Sleep(150 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed holding", wid)
		}
	}
	return wid
}
