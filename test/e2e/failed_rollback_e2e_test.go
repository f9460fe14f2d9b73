package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/workflows"
)

// TestFailedRollbackIsNotShownAsRolledBack: a rollback whose undo failed
// (the firewall refused the unblock) leaves the containment in place, and
// README says it can be asked again. The run it was for must not read
// "rolled back" in the views an analyst trusts (runs list, runs show,
// GET /v1/runs): that says the containment was lifted.
func TestFailedRollbackIsNotShownAsRolledBack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"rb-refused-1"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.99"},"unmapped":{"hold_case":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-hold")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(150 * time.Millisecond) {
		if d := h.runDetail(t, wid); d.Status == workflows.RunHolding {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run never showed holding")
		}
	}
	// The firewall refuses every call from now on.
	h.sys.Lab.InjectFault(lab.PANOS, lab.Fault{Status: 403, Times: 1000})
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
	if code >= 300 {
		t.Fatalf("rollback: %d %s", code, b)
	}
	rb := h.waitRun("rollback:"+wid, 2*time.Minute)
	if rb.Status != workflows.RunFailed {
		t.Fatalf("the rollback run: status %s, want failed (its undo was refused): %+v", rb.Status, rb.Undo)
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 1 {
		t.Fatalf("blocked in the lab: %+v; want the address still blocked", blocked)
	}
	time.Sleep(time.Second)
	d := h.runDetail(t, wid)
	for _, hold := range d.Holds {
		if hold.ReleasedAt != nil && hold.Error == "" {
			t.Errorf("GET /v1/runs/%s: hold %s released at %s without error, while the address is still blocked (its rollback failed)", wid, hold.Step, hold.ReleasedAt)
		}
	}
	_, out, _ := runCLI(t, "runs", "show", wid, "--api", h.baseURL, "--token", h.token)
	t.Logf("runs show:\n%s", out)
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "rolled back:") || (strings.HasPrefix(l, "hold:") && strings.Contains(l, "released")) {
			if !strings.Contains(l, "fail") {
				t.Errorf("riposte runs show (its rollback failed, the address still blocked) says: %q", l)
			}
		}
	}
	_, out, _ = runCLI(t, "runs", "list", "--playbook", "e2e-hold", "--api", h.baseURL, "--token", h.token)
	t.Logf("runs list:\n%s", out)
	if strings.Contains(out, "rolled back by") && !strings.Contains(out, "fail") {
		t.Errorf("riposte runs list (its rollback failed) says:\n%s", out)
	}
}
