package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// A finding its detector closed while its run held a block of
// 203.0.113.95, then reopened with a record naming another address
// (203.0.113.96): the withdrawn run continues as a new run, which blocks
// the new address and inherits the hold of the first one (its block step
// did not take it over). An operator terminates the new run before that
// hold falls due: no code releases it any more, and its rollback left it
// "in place until its release" (inherited_holds_left), so 203.0.113.95
// stayed blocked for good. Against the embedded Temporal server: the
// rollback of the ended run lists the inherited hold among what it undoes
// and lifts both blocks.
func TestRollbackOfTerminatedContinuedRunLiftsInheritedHold(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	const t0 = int64(1763458937000)
	finding := func(modified int64, ip, lifecycle string) string {
		return fmt.Sprintf(`{"class_uid":2004,"time":%d,"severity_id":4%s,"finding_info":{"uid":"reopen-inherited-ended-1","modified_time":%d},
"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":%q},"unmapped":{"hold_case":true}}`, t0, lifecycle, modified, ip)
	}
	code, r := h.submit(finding(t0, "203.0.113.95", ""))
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
	if code, r := h.submit(finding(t0+60_000, "203.0.113.95", `,"activity_id":3,"status_id":4,"status":"Resolved"`)); code >= 300 || len(r.Detections[0].Signalled) == 0 {
		t.Fatalf("Close: %d %+v", code, r)
	}
	h.eventually(t, func() string {
		if d := h.runDetail(t, wid); d.Withdrawn == nil || d.RunID != first.RunID {
			return fmt.Sprintf("run %s: withdrawn %+v, want the first run withdrawn", d.RunID, d.Withdrawn)
		}
		return ""
	})
	if code, r := h.submit(finding(t0+120_000, "203.0.113.96", `,"activity_id":2,"status_id":1,"status":"New"`)); code >= 300 {
		t.Fatalf("reopen: %d %+v", code, r)
	}
	var next api.RunDetail
	h.eventually(t, func() string {
		next = h.runDetail(t, wid)
		if next.RunID == first.RunID || next.Status != workflows.RunHolding || len(next.Holds) != 2 {
			return fmt.Sprintf("latest run %s: %s, holds %+v; want a new run holding its block and the inherited one", next.RunID, next.Status, next.Holds)
		}
		return ""
	})
	if !slices.ContainsFunc(next.Holds, func(hd workflows.Hold) bool {
		return hd.InheritedFrom == first.RunID && hd.Step == workflows.InheritedPrefix+"block" && hd.ReleasedAt == nil
	}) {
		t.Fatalf("new run's holds %+v; want the hold of 203.0.113.95 inherited from %s", next.Holds, first.RunID)
	}
	blockedIPs := func() []string {
		var out []string
		for _, b := range h.sys.Lab.State().BlockedIPs {
			out = append(out, b.IP)
		}
		return out
	}
	if got := blockedIPs(); len(got) != 2 {
		t.Fatalf("blocked %v; want both addresses blocked", got)
	}

	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.TerminateWorkflow(t.Context(), wid, next.RunID, "operator ended it"); err != nil {
		t.Fatal(err)
	}
	h.eventually(t, func() string {
		if d := h.runDetail(t, wid); d.Temporal != "terminated" {
			return fmt.Sprintf("temporal_status %q, want terminated", d.Temporal)
		}
		return ""
	})
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
	var resp api.RollbackResponse
	if err := json.Unmarshal(b, &resp); code != 202 || err != nil {
		t.Fatalf("rollback of the terminated run: %d %s", code, b)
	}
	inherited := slices.ContainsFunc(resp.Undo, func(u workflows.UndoCall) bool {
		return u.Step == workflows.InheritedPrefix+"block" && u.Params["ip"] == "203.0.113.95"
	})
	if len(resp.Undo) != 2 || !inherited || len(resp.InheritedHoldsLeft) != 0 {
		t.Errorf("rollback: %s; want its own block and the inherited block of 203.0.113.95 undone, nothing left in place", b)
	}
	if rb := h.waitRun("rollback:"+wid, time.Minute); rb.Status != workflows.RunSucceeded {
		t.Errorf("rollback %s: %+v", rb.Status, rb.Undo)
	}
	if got := blockedIPs(); len(got) != 0 {
		t.Errorf("blocked %v after the rollback of the terminated run; want both blocks lifted", got)
	}
}
