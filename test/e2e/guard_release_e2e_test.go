package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/cli"
)

// releaseDev is riposte dev with a budget of one containment per hour.
func releaseDev(t *testing.T, dir string) *devHarness {
	t.Helper()
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policy, []byte("budgets:\n  - {action: crowdstrike.contain_host, max: 1, per: 1h}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startDevForTest(t, dir, func(o *cli.DevOptions) { o.Runtime.Policy = policy })
	t.Cleanup(h.sys.Close)
	return h
}

// A contain step that failed (the EDR does not know the host) gives its
// budget slot back: with a budget of one, the next detection is still
// contained automatically.
func TestBudgetSlotReleasedOnFailedContain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := releaseDev(t, t.TempDir())
	_, r := h.submit(budgetDetection("rel-unknown", "no-such-host-77", 95))
	d := h.waitStep(r.Detections[0].Matched[0].WorkflowID, "contain", "failed", "succeeded", "waiting_approval")
	st := d.Steps[0]
	if st.Status != "failed" || st.Guardrail == nil || st.Guardrail.Rule != "budget" || !st.Guardrail.Released {
		t.Fatalf("failed step: status %s, guardrail %+v", st.Status, st.Guardrail)
	}
	_, r = h.submit(budgetDetection("rel-known", "fin-ws-042", 95))
	d = h.waitStep(r.Detections[0].Matched[0].WorkflowID, "contain", "failed", "succeeded", "waiting_approval")
	if st := d.Steps[0]; st.Status != "succeeded" {
		t.Errorf("the freed slot was not used: %s %+v", st.Status, st.Guardrail)
	}
	// The budget is now used up for good: the third is gated.
	_, r = h.submit(budgetDetection("rel-third", "hr-ws-007", 95))
	d = h.waitStep(r.Detections[0].Matched[0].WorkflowID, "contain", "failed", "succeeded", "waiting_approval")
	if st := d.Steps[0]; st.Status != "waiting_approval" || st.Guardrail == nil || st.Guardrail.Rule != "budget" {
		t.Errorf("third run: %s %+v", st.Status, st.Guardrail)
	}
}

// TestRecordBudgetReleaseHistory records, with -record, a run whose failed
// contain step releases its budget slot (change id guard-budget-release),
// for the replay guard.
func TestRecordBudgetReleaseHistory(t *testing.T) {
	if !*record {
		t.Skip("only with -record")
	}
	dir := recordingDir(t)
	h := releaseDev(t, dir)
	c := dialDev(t, h, "recorder")
	_, r := h.submit(budgetDetection("rec-release", "no-such-host-78", 95))
	m := r.Detections[0].Matched[0]
	d := h.waitRun(m.WorkflowID, time.Minute)
	if st := d.Steps[0]; st.Guardrail == nil || !st.Guardrail.Released {
		t.Fatalf("not released: %+v", st)
	}
	b := saveHistory(t, c, m.WorkflowID, m.RunID, *recordPrefix+"guard-budget-release-e2e-budget")
	// Payloads are encrypted: the change id is not readable, its marker is.
	// protojson varies its spacing on purpose, so no fixed string.
	if !regexp.MustCompile(`"markerName":\s*"Version"`).Match(b) {
		t.Fatal("the history has no version marker")
	}
}
