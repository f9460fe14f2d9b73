package e2e

import (
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// A run that found its target already contained by someone else (another
// run, an analyst) marks it preexisting: it neither holds nor rolls back
// that containment (README, Undo). Reset from the Temporal UI (an operator
// re-running a run from its start), the same run must not take that block
// for its own: its contain_for release, or riposte rollback, would lift
// the other run's containment. A reset run claims only what the run it
// was reset from applied (catalog.Call.ResetFrom: the worker reads that
// run's history); the first build of the reset rule claimed every
// "already".
func TestResetRunDoesNotClaimSomeoneElsesContainment(t *testing.T) {
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

	// Run 1 blocks the IP and holds it.
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"reset-pre-owner"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.92"},"unmapped":{"hold_case":true}}`)
	if code != 202 {
		t.Fatalf("submit 1: %d", code)
	}
	owner := matched(t, r, "e2e-hold")
	for deadline := time.Now().Add(30 * time.Second); h.runDetail(t, owner).Status != workflows.RunHolding; time.Sleep(150 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("run 1 never showed holding")
		}
	}
	// Run 2 (another finding, same IP) finds it blocked: preexisting.
	code, r = h.submit(`{"class_uid":2004,"time":2,"severity_id":4,"finding_info":{"uid":"reset-pre-other"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.92"},"unmapped":{"hold_case":true}}`)
	if code != 202 {
		t.Fatalf("submit 2: %d", code)
	}
	wid := matched(t, r, "e2e-hold")
	var d workflowsDetail
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(150 * time.Millisecond) {
		d = h.runDetail(t, wid)
		if len(d.Steps) == 1 && d.Steps[0].EndedAt != nil && d.Status == workflows.RunSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run 2 never ended: %+v", d)
		}
	}
	out, _ := d.Steps[0].Output.(map[string]any)
	if pre, _ := out[catalog.OutputPreexisting].(bool); !pre {
		t.Fatalf("run 2's block is not preexisting (%v): the premise fails", out)
	}
	first := d.RunID

	// Reset run 2 to its first workflow task, as the UI's "Reset" does.
	d = resetToFirstTask(t, h, c, wid, first)
	out, _ = d.Steps[0].Output.(map[string]any)
	t.Logf("reset run: status %s, block %s, output %v, holds %+v", d.Status, d.Steps[0].Status, out, d.Holds)
	if pre, _ := out[catalog.OutputPreexisting].(bool); !pre {
		t.Errorf("the reset run took run 1's block for its own (output %v, holds %d): its earlier run found it in place and never applied it, and its hold's release or a rollback lifts run 1's containment", out, len(d.Holds))
	}
}
