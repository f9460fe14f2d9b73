package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// A finding its detector closes while its run holds a block (contain_for)
// leaves the run withdrawn and holding. When the detector reopened the
// finding, its record reached that run, which ignored it: the reopened
// finding got no response until the hold ended (the intake starts a new
// run under the workflow id only once the last one has ended), and the
// hold then lifted the block although the finding was active again
// (docs/detections.md, "Known gap"). The withdrawn run now continues as a
// new run for the reopening record: the new run's block step finds the
// address blocked by the run it continues, takes it over (its own hold,
// from now), and its rollback lifts it.
func TestReopeningRecordContinuesAWithdrawnRunThatHolds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	if *record {
		dir = recordingDir(t) // the replay guard's key
	}
	h := startDevForTest(t, dir)
	defer h.sys.Close()
	finding := holdFinding("reopen-hold-1", "203.0.113.91")
	// Blocked and held, then closed by its detector: withdrawn, holding on.
	wid, first := h.withdrawnHolding(t, finding)
	// The detector reopens it.
	if code, r := h.submit(finding(holdT0+120_000, `,"activity_id":2,"status_id":1,"status":"New"`)); code >= 300 {
		t.Fatalf("reopen: %d %+v", code, r)
	}
	var next = first
	h.eventually(t, func() string {
		next = h.runDetail(t, wid)
		if next.RunID == first.RunID || next.Status != workflows.RunHolding {
			return fmt.Sprintf("latest run %s: %s; want a new run holding", next.RunID, next.Status)
		}
		return ""
	})
	if next.ReopenedFrom != first.RunID {
		t.Errorf("new run: reopened_from %q, want %s", next.ReopenedFrom, first.RunID)
	}
	if len(next.Steps) == 0 || next.Steps[0].Status != "succeeded" {
		t.Fatalf("new run's steps: %+v", next.Steps)
	}
	if out, _ := next.Steps[0].Output.(map[string]any); out["preexisting"] == true {
		t.Errorf("new run's block: %v; want the block of the run it continues taken over, not someone else's", out)
	}
	if len(next.Holds) != 1 || next.Holds[0].Step != "block" || next.Holds[0].ReleasedAt != nil {
		t.Errorf("new run's holds %+v; want its own hold of the block (the inherited one taken over)", next.Holds)
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 1 {
		t.Errorf("blocked %+v; want the address still blocked", blocked)
	}
	old := h.runDetailOf(t, wid, first.RunID)
	if old.ContinuedAs != next.RunID || old.Withdrawn == nil {
		t.Errorf("first run: continued_as %q (want %s), withdrawn %+v", old.ContinuedAs, next.RunID, old.Withdrawn)
	}
	for _, hold := range old.Holds {
		if hold.ReleasedAt != nil {
			t.Errorf("first run's hold %+v released: it was handed over", hold)
		}
	}
	if _, out, _ := runCLI(t, "runs", "show", wid, "--api", h.baseURL, "--token", h.token); !strings.Contains(out, "Reopened: continues withdrawn run "+first.RunID) {
		t.Errorf("riposte runs show %s does not say which run it continues:\n%s", wid, out)
	}
	// The new run owns the block: its rollback lifts it.
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
	if code >= 300 {
		t.Fatalf("rollback: %d %s", code, b)
	}
	if rb := h.waitRun("rollback:"+wid, time.Minute); rb.Status != workflows.RunSucceeded || len(h.sys.Lab.State().BlockedIPs) != 0 {
		t.Errorf("rollback of the new run: %s, blocked %+v; want the block lifted", rb.Status, h.sys.Lab.State().BlockedIPs)
	}
	if *record {
		// The withdrawn run continued as new (reopen-continues), and the
		// run it continued as, which took its block over and was rolled
		// back.
		h.eventually(t, func() string {
			if d := h.runDetail(t, wid); d.Status == workflows.RunHolding || d.Status == workflows.RunRunning {
				return "the new run has not ended after its rollback"
			}
			return ""
		})
		saveHistory(t, h.sys.Client, wid, first.RunID, *recordPrefix+"reopen-continued-e2e-hold")
		saveHistory(t, h.sys.Client, wid, next.RunID, *recordPrefix+"reopen-continuing-e2e-hold")
		copyStore(t, h.dir)
	}
}

// holdT0 is the time of a holdFinding's first record.
const holdT0 = int64(1763458937000)

// holdFinding returns the records of a finding the e2e-hold playbook
// answers with a block of ip held by contain_for (uid its finding uid),
// by modified time (from holdT0) and lifecycle fields.
func holdFinding(uid, ip string) func(modified int64, lifecycle string) string {
	return func(modified int64, lifecycle string) string {
		return fmt.Sprintf(`{"class_uid":2004,"time":%d,"severity_id":4%s,"finding_info":{"uid":%q,"modified_time":%d},
"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":%q},"unmapped":{"hold_case":true}}`, holdT0, lifecycle, uid, modified, ip)
	}
}

// withdrawnHolding submits finding's first record, waits until its run
// holds the block, then submits the record closing the finding (a minute
// later) and waits until the run is withdrawn, holding on. It returns the
// workflow id and the run as it held.
func (h *devHarness) withdrawnHolding(t *testing.T, finding func(int64, string) string) (string, api.RunDetail) {
	t.Helper()
	code, r := h.submit(finding(holdT0, ""))
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-hold")
	for deadline := time.Now().Add(30 * time.Second); h.runDetail(t, wid).Status != workflows.RunHolding; time.Sleep(150 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed holding", wid)
		}
	}
	first := h.runDetail(t, wid)
	if code, r := h.submit(finding(holdT0+60_000, `,"activity_id":3,"status_id":4,"status":"Resolved"`)); code >= 300 || len(r.Detections[0].Signalled) == 0 {
		t.Fatalf("Close: %d %+v", code, r)
	}
	h.eventually(t, func() string {
		if d := h.runDetail(t, wid); d.Withdrawn == nil || d.RunID != first.RunID {
			return fmt.Sprintf("run %s: withdrawn %+v, want the first run withdrawn", d.RunID, d.Withdrawn)
		}
		return ""
	})
	return wid, first
}
