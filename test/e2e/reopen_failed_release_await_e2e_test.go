package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	enums "go.temporal.io/api/enums/v1"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/workflows"
)

// The reopened finding's new run inherits the host (still isolated, 2h)
// and the block whose release failed, and its own steps fail (both
// vendors refuse): it holds nothing of its own. Its rollback, asked while
// it runs, plans the block and fails (the firewall still refuses). Its
// mark releases no hold, yet the run holds one whose release failed: it
// waits for that rollback's outcome (rollback-awaits-failed-release) and
// reads it. The run's history is the replay guard's record of that gate
// (s38r6-reopen-failed-release-awaited, saved with -record).
func TestReopenedRunAwaitsTheRollbackOfAnInheritedFailedRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	if *record {
		dir = recordingDir(t) // the replay guard's key
	}
	h := startDevForTest(t, dir)
	defer h.sys.Close()
	const ip = "203.0.113.89"
	finding := func(modified int64, lifecycle string) string {
		return fmt.Sprintf(`{"class_uid":2004,"time":%d,"severity_id":4%s,"finding_info":{"uid":"reopen-failed-release-2","modified_time":%d},
"metadata":{"product":{"name":"x"}},"device":{"hostname":"fin-ws-042"},"dst_endpoint":{"ip":%q},"unmapped":{"hold_two_case":true}}`, holdT0, lifecycle, modified, ip)
	}
	code, r := h.submit(finding(holdT0, ""))
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-hold-two")
	h.eventually(t, func() string {
		if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 1 {
			return fmt.Sprintf("blocked %+v; want the address blocked", blocked)
		}
		return ""
	})
	// The firewall refuses every call from now on: the block's release
	// (3s) fails, and so will the new run's block and its rollback.
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
	// The EDR refuses too: the new run's isolation fails, and the run
	// keeps the host's hold as inherited (not its own).
	h.sys.Lab.InjectFault(lab.CrowdStrike, lab.Fault{Status: 403, Times: 1000})
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
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		next = h.runDetail(t, wid)
		ended := next.RunID != first.RunID && len(next.Steps) == 2 && !slices.ContainsFunc(next.Steps, func(st workflows.StepResult) bool { return st.EndedAt == nil })
		if ended {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("latest run %s: %s %+v; want a new run whose steps have ended", next.RunID, next.Status, next.Steps)
		}
	}
	if next.ReopenedFrom != first.RunID || next.ClosedAt != nil {
		t.Fatalf("new run: reopened_from %q, closed %v; want it running, reopened from %s", next.ReopenedFrom, next.ClosedAt, first.RunID)
	}
	for _, hd := range next.Holds {
		if hd.InheritedFrom == "" {
			t.Fatalf("new run's holds %+v; want only inherited ones (its own steps failed)", next.Holds)
		}
	}
	if !slices.ContainsFunc(next.Holds, func(hd workflows.Hold) bool {
		return hd.Step == workflows.InheritedPrefix+"block" && hd.Error != "" && hd.ReleasedAt != nil
	}) {
		t.Fatalf("new run's holds %+v; want the block inherited, its release failed", next.Holds)
	}
	// Its rollback, asked while it runs, plans the block; the firewall
	// still refuses.
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
	var resp api.RollbackResponse
	if err := json.Unmarshal(b, &resp); code != 202 || err != nil ||
		!slices.ContainsFunc(resp.Undo, func(u workflows.UndoCall) bool { return u.Undo == "panos.unblock_ip" && u.Params["ip"] == ip }) {
		t.Fatalf("rollback: %d %s; want it to unblock %s", code, b, ip)
	}
	if rb := h.waitRun("rollback:"+wid, 3*time.Minute); rb.Status == workflows.RunSucceeded {
		t.Fatalf("rollback: %s %+v; want it failed (the firewall refuses)", rb.Status, rb.Undo)
	}
	// The run read the rollback's outcome (the mark released no hold).
	read := func() bool {
		it := h.sys.Client.GetWorkflowHistory(context.Background(), wid, next.RunID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		outcome, completed := map[int64]bool{}, false
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == workflows.ActivityRollbackOutcome {
				outcome[e.GetEventId()] = true
			}
			if a := e.GetActivityTaskCompletedEventAttributes(); a != nil && outcome[a.GetScheduledEventId()] {
				completed = true
			}
			if completed && e.GetEventType() == enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(time.Minute); !read(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("run %s never read the outcome of its rollback", next.RunID)
		}
	}
	if *record {
		saveHistory(t, h.sys.Client, wid, next.RunID, *recordPrefix+"reopen-failed-release-awaited")
	}
	// The run now knows that rollback failed: a retry, once the firewall
	// answers again, is planned for what it left (the block), its mark is
	// taken, and it unblocks the address.
	marked := h.runDetailOf(t, wid, next.RunID).RolledBackAt
	if marked == nil {
		t.Fatalf("run %s: no rollback mark", next.RunID)
	}
	h.sys.Lab.ClearFaults()
	code, b = h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
	resp = api.RollbackResponse{}
	if err := json.Unmarshal(b, &resp); code != 202 || err != nil || resp.Existing ||
		!slices.ContainsFunc(resp.Undo, func(u workflows.UndoCall) bool { return u.Undo == "panos.unblock_ip" && u.Params["ip"] == ip }) {
		t.Fatalf("retry: %d %s; want a new rollback that unblocks %s", code, b, ip)
	}
	if rb := h.waitRun("rollback:"+wid, 3*time.Minute); rb.Status != workflows.RunSucceeded {
		t.Errorf("retry: %s %+v", rb.Status, rb.Undo)
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 0 {
		t.Errorf("blocked %+v after the retry; want the address unblocked", blocked)
	}
	h.eventually(t, func() string {
		if d := h.runDetailOf(t, wid, next.RunID); d.RolledBackAt == nil || !d.RolledBackAt.After(*marked) {
			return fmt.Sprintf("run %s: rolled back %v by %q; want the retry's mark taken", next.RunID, d.RolledBackAt, d.RolledBackBy)
		}
		return ""
	})
}
