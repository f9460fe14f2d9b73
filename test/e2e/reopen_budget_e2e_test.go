package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/cli"
)

// A budget counts automatic contain actions per window across all runs
// (README, Guardrails). A finding the detector closes and reopens gets a
// new run under the same workflow id (README, Lifecycle); its contain step
// must take a slot of its own. The reservation key is workflow id + step
// id, so the reopened run is handed the first run's slot back ("a retried
// check gets the same slot") and contains another host past a spent
// budget: a detection that closes and reopens its finding, naming another
// host each time, contains without limit on one slot.
// The slot's key now carries the run (activities.runKey).
func TestReopenedFindingTakesItsOwnBudgetSlot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte("budgets:\n  - {action: crowdstrike.contain_host, max: 1, per: 1h}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pbDir := filepath.Join(dir, "playbooks")
	if err := os.MkdirAll(pbDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Contain at once, then wait for a human to review (the run is still
	// running when the detector closes the finding).
	if err := os.WriteFile(filepath.Join(pbDir, "reopen.yaml"), []byte(`apiVersion: riposte/v1
name: e2e-reopen-budget
version: 1
trigger:
  when: detection.unmapped?.reopen_budget == true
steps:
  - id: contain
    action: crowdstrike.contain_host
    with: {hostname: "${{ detection.device.hostname }}"}
    approval: auto
  - id: review
    action: core.log
    needs: [contain]
    with: {message: "review ${{ detection.device.hostname }}"}
    approval:
      approvers: {users: [UREVIEWER]}
      timeout: 10m
`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startDevForTest(t, dir, func(o *cli.DevOptions) { o.Runtime.Policy = policy; o.Playbooks = pbDir })
	defer h.sys.Close()

	record := func(host string, modified int64, lifecycle string) string {
		return fmt.Sprintf(`{"class_uid":2004,"time":1763458937000,"severity_id":4,"confidence_score":95%s,
"finding_info":{"uid":"reopen-budget-1","title":"t","modified_time":%d},"metadata":{"product":{"name":"guard-test"}},
"device":{"hostname":%q},"unmapped":{"reopen_budget":true}}`, lifecycle, modified, host)
	}
	// 1. Create: fin-ws-042 is contained, the budget's one slot is used.
	_, r := h.submit(record("fin-ws-042", 1763458937000, ""))
	wid := r.Detections[0].Matched[0].WorkflowID
	d := h.waitStep(wid, "review", "waiting_approval")
	if d.Steps[0].Status != "succeeded" {
		t.Fatalf("first run's contain: %s %+v", d.Steps[0].Status, d.Steps[0].Guardrail)
	}
	// 2. The detector closes the finding: the run ends, withdrawn.
	if code, r := h.submit(record("fin-ws-042", 1763458997000, `,"activity_id":3,"status_id":4,"status":"Resolved"`)); code >= 300 || len(r.Detections[0].Signalled) == 0 {
		t.Fatalf("Close: %d %+v", code, r)
	}
	h.waitRun(wid, time.Minute)
	// 3. The detector reopens it, naming another host: a new run, same id.
	code, r := h.submit(record("eng-lt-117", 1763459057000, `,"activity_id":2,"status_id":1,"status":"New"`))
	if code != 202 || !r.Detections[0].Matched[0].Reopened {
		t.Fatalf("reopen: %d %+v; want a new run", code, r)
	}
	d = h.waitStep(wid, "contain", "succeeded", "waiting_approval")
	contained := len(h.sys.Lab.State().ContainedHosts)
	if st := d.Steps[0]; st.Status != "waiting_approval" || st.Guardrail == nil || st.Guardrail.Rule != "budget" || contained != 1 {
		t.Errorf("reopened run's contain step: %s, guardrail %+v; the lab shows %d contained hosts; want it gated by the spent budget (1 of 1 per 1h) and 1 host contained", st.Status, st.Guardrail, contained)
	}
}
