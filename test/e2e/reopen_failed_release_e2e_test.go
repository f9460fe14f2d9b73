package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/workflows"
)

// A finding whose run isolates the host (2h) and blocks an address (3s);
// the firewall refuses every call once the run holds both, so the block's
// release fails. Its detector closes the finding (the run, withdrawn,
// holds the host on) and then reopens it: the run continues as a new run.
// That run handed over only the hold it had not released: the block,
// whose release had failed, was in neither run's holds a rollback plans
// (the API plans the latest run), so nothing in Riposte could lift it any
// more. The new run now lists it (inherited, its release failed, on the
// address) and its rollback unblocks the address.
func TestReopenedRunRollsBackABlockWhoseReleaseFailed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	if *record {
		dir = recordingDir(t) // the replay guard's key
	}
	h := startDevForTest(t, dir)
	defer h.sys.Close()
	const ip = "203.0.113.88"
	finding := func(modified int64, lifecycle string) string {
		return fmt.Sprintf(`{"class_uid":2004,"time":%d,"severity_id":4%s,"finding_info":{"uid":"reopen-failed-release-1","modified_time":%d},
"metadata":{"product":{"name":"x"}},"device":{"hostname":"fin-ws-042"},"dst_endpoint":{"ip":%q},"unmapped":{"hold_two_case":true}}`, holdT0, lifecycle, modified, ip)
	}
	code, r := h.submit(finding(holdT0, ""))
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-hold-two")
	// The firewall refuses every call once the address is blocked: the
	// block's release (3s) fails.
	h.eventually(t, func() string {
		if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 1 {
			return fmt.Sprintf("blocked %+v; want the address blocked", blocked)
		}
		return ""
	})
	h.sys.Lab.InjectFault(lab.PANOS, lab.Fault{Status: 403, Times: 1000})
	var first api.RunDetail
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		first = h.runDetail(t, wid)
		if i := slices.IndexFunc(first.Holds, func(hd workflows.Hold) bool { return hd.Step == "block" }); i >= 0 && first.Holds[i].Error != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the block's release never failed: holds %+v", first.Holds)
		}
	}
	// Closed by its detector, then reopened.
	if code, r := h.submit(finding(holdT0+60_000, `,"activity_id":3,"status_id":4,"status":"Resolved"`)); code >= 300 || len(r.Detections[0].Signalled) == 0 {
		t.Fatalf("Close: %d %+v", code, r)
	}
	h.eventually(t, func() string {
		if d := h.runDetail(t, wid); d.Withdrawn == nil || d.RunID != first.RunID {
			return fmt.Sprintf("run %s: withdrawn %+v, want the first run withdrawn", d.RunID, d.Withdrawn)
		}
		return ""
	})
	if code, r := h.submit(finding(holdT0+120_000, `,"activity_id":2,"status_id":1,"status":"New"`)); code >= 300 {
		t.Fatalf("reopen: %d %+v", code, r)
	}
	var next api.RunDetail
	h.eventually(t, func() string {
		next = h.runDetail(t, wid)
		if next.RunID == first.RunID || len(next.Steps) < 2 || next.Steps[1].EndedAt == nil {
			return fmt.Sprintf("latest run %s: %s; want a new run whose steps have ended", next.RunID, next.Status)
		}
		return ""
	})
	if next.ReopenedFrom != first.RunID {
		t.Fatalf("new run: reopened_from %q, want %s", next.ReopenedFrom, first.RunID)
	}
	if *record {
		// The withdrawn run whose release failed and that then continued
		// (reopen-failed-release).
		saveHistory(t, h.sys.Client, wid, first.RunID, *recordPrefix+"reopen-failed-release-continued")
		copyStore(t, h.dir)
	}
	// (a) The new run lists the block, inherited, its release failed.
	i := slices.IndexFunc(next.Holds, func(hd workflows.Hold) bool { return hd.Step == workflows.InheritedPrefix+"block" })
	if i < 0 || next.Holds[i].InheritedFrom != first.RunID || next.Holds[i].ReleasedAt == nil || next.Holds[i].Error == "" ||
		len(next.Holds[i].Targets) != 1 || next.Holds[i].Targets[0]["ip"] != ip {
		t.Errorf("new run's holds %+v; want the block inherited from %s, its release failed, on %s", next.Holds, first.RunID, ip)
	}
	if _, out, _ := runCLI(t, "runs", "show", wid, "--api", h.baseURL, "--token", h.token); !strings.Contains(out, "inherited:block: release (panos.unblock_ip) failed") {
		t.Errorf("riposte runs show %s does not list the block whose release failed:\n%s", wid, out)
	}
	// (b) The firewall answers again: a rollback of the finding lifts it.
	h.sys.Lab.ClearFaults()
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
	var resp api.RollbackResponse
	if err := json.Unmarshal(b, &resp); code != 202 || err != nil ||
		!slices.ContainsFunc(resp.Undo, func(u workflows.UndoCall) bool { return u.Undo == "panos.unblock_ip" && u.Params["ip"] == ip }) {
		t.Fatalf("rollback: %d %s; want it to unblock %s", code, b, ip)
	}
	if rb := h.waitRun("rollback:"+wid, time.Minute); rb.Status != workflows.RunSucceeded {
		t.Errorf("rollback: %s %+v", rb.Status, rb.Undo)
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 0 {
		t.Errorf("blocked %+v after the rollback; want the address unblocked", blocked)
	}
	if *record {
		// The new run, which inherited the block whose release failed and
		// was rolled back (still holding the host): its history replays
		// the handover's receiving end (takeOverInherited).
		// (The mark was signalled before the rollback answered.)
		saveHistory(t, h.sys.Client, wid, next.RunID, *recordPrefix+"reopen-failed-release-inherited")
	}
}
