package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/cli"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/workflows"
)

// waitStep polls a run until the step reaches a status in want.
func (h *devHarness) waitStep(wid, step string, want ...string) api.RunDetail {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		code, b := h.do("GET", "/v1/runs/"+url.PathEscape(wid), h.token, "")
		var d api.RunDetail
		if code == 200 && jsonUnmarshal(b, &d) == nil {
			for _, st := range d.Steps {
				if st.ID == step {
					for _, w := range want {
						if st.Status == w {
							return d
						}
					}
				}
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("step %s of %s never reached %v (last %d %s)", step, wid, want, code, b)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func budgetDetection(uid, host string, confidence int) string {
	return fmt.Sprintf(`{"class_uid":2004,"time":1763458937000,"severity_id":4,"confidence_score":%d,
"finding_info":{"uid":%q,"title":"t"},"metadata":{"product":{"name":"guard-test"}},
"device":{"hostname":%q},"unmapped":{"budget":true}}`, confidence, uid, host)
}

func TestGuardrailsOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(`
protected:
  hosts: ["db-prod-*"]
confidence_floor: 80
budgets:
  - {action: crowdstrike.contain_host, max: 2, per: 1h}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startDevForTest(t, dir, func(o *cli.DevOptions) { o.Runtime.Policy = policy })
	defer h.sys.Close()

	// Protected host: gated even with approval: auto, nothing reaches the EDR.
	_, r := h.submit(budgetDetection("g-protected", "db-prod-02", 99))
	d := h.waitStep(r.Detections[0].Matched[0].WorkflowID, "contain", "waiting_approval")
	if g := d.Steps[0].Guardrail; g == nil || g.Rule != "protected_asset" {
		t.Errorf("protected host guardrail = %+v", g)
	}
	// Below the confidence floor: gated.
	_, r = h.submit(budgetDetection("g-floor", "hr-ws-007", 70))
	d = h.waitStep(r.Detections[0].Matched[0].WorkflowID, "contain", "waiting_approval")
	if g := d.Steps[0].Guardrail; g == nil || g.Rule != "confidence_floor" {
		t.Errorf("confidence floor guardrail = %+v", g)
	}

	// Budget of 2 under 5 concurrent runs: exactly 2 containments.
	hosts := []string{"fin-ws-042", "eng-lt-117", "ops-ws-011", "sales-lt-023", "web-prod-01"}
	ids := make([]string, len(hosts))
	var wg sync.WaitGroup
	for i, host := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, r := h.submit(budgetDetection(fmt.Sprintf("g-budget-%d", i), host, 95))
			ids[i] = r.Detections[0].Matched[0].WorkflowID
		}()
	}
	wg.Wait()
	contained, gated := 0, 0
	for _, id := range ids {
		d := h.waitStep(id, "contain", "succeeded", "waiting_approval")
		switch d.Steps[0].Status {
		case "succeeded":
			contained++
		case "waiting_approval":
			gated++
			if g := d.Steps[0].Guardrail; g == nil || g.Rule != "budget" {
				t.Errorf("gated run without the budget rule: %+v", g)
			}
		}
	}
	labContained := len(h.sys.Lab.State().ContainedHosts)
	if contained != 2 || gated != 3 || labContained != 2 {
		t.Errorf("budget: %d contained, %d gated, lab shows %d contained hosts; want 2/3/2", contained, gated, labContained)
	}

	// Safe mode: every contain step needs a human, even within budget.
	if code, b := h.do("POST", "/v1/policy/safe-mode", h.tokenFor("USOC"), `{"enabled":true,"user":"USOC"}`); code != 200 {
		t.Fatalf("safe mode: %d %s", code, b)
	}
	wantNote(t, h, workflows.GuardWorkflowID, `^safe mode on by USOC$`)
	time.Sleep(2500 * time.Millisecond) // the workers' cached switch expires
	_, r = h.submit(budgetDetection("g-safe", "hr-ws-007", 99))
	d = h.waitStep(r.Detections[0].Matched[0].WorkflowID, "contain", "waiting_approval")
	if g := d.Steps[0].Guardrail; g == nil || g.Rule != "safe_mode" {
		t.Errorf("safe mode guardrail = %+v", g)
	}
	// The switch records the credential that authenticated USOC (a
	// personal token: its id), sealed with it.
	if code, b := h.do("GET", "/v1/policy", h.token, ""); code != 200 || !jsonHas(b, `"safe_mode": true`) || !jsonHas(b, `"safe_mode_credential": "token:`) {
		t.Errorf("policy state: %d %s", code, b)
	}
}

func jsonHas(b []byte, s string) bool {
	return strings.Contains(string(b), s) || strings.Contains(string(b), strings.ReplaceAll(s, " ", ""))
}

// The guardrails decide a contain step once, on the real server as in the
// workflows' tests: the EDR isolates the host but its answer is lost (the
// lab applies the call and answers 429 asking for a retry in 6 s), safe
// mode is switched on meanwhile, and the retry acts under the first
// attempt's decision (kept in the attempt's heartbeat details) instead of
// gating a step whose host is already contained.
func TestGuardrailsDecideOnceOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	h.sys.Lab.InjectFault(lab.CrowdStrike, lab.Fault{Status: 429, Lost: true, RetryAfter: 6 * time.Second})
	_, r := h.submit(budgetDetection("once-lost", "fin-ws-042", 95))
	wid := r.Detections[0].Matched[0].WorkflowID
	deadline := time.Now().Add(30 * time.Second)
	for len(h.sys.Lab.State().ContainedHosts) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first attempt never reached the EDR")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, b := h.do("POST", "/v1/policy/safe-mode", h.tokenFor("USOC"), `{"enabled":true,"user":"USOC"}`); code != 200 {
		t.Fatalf("safe mode: %d %s", code, b)
	}
	d := h.waitStep(wid, "contain", "succeeded", "waiting_approval", "denied", "failed")
	st := d.Steps[0]
	if st.Status != "succeeded" {
		t.Errorf("step %s (%s%s), guardrail %+v; want succeeded on a retry", st.Status, st.Error, st.Reason, st.Guardrail)
	}
	if out, _ := st.Output.(map[string]any); out["already"] != true {
		t.Errorf("output %v, want the retry to find the host contained", st.Output)
	}
	if st.StartedAt == nil || st.EndedAt == nil || st.EndedAt.Sub(*st.StartedAt) < 5*time.Second {
		t.Errorf("step ran %v to %v: not after the retry the EDR asked for", st.StartedAt, st.EndedAt)
	}
	// A new detection after the switch is gated: safe mode itself works.
	_, r = h.submit(budgetDetection("once-after", "hr-ws-007", 95))
	d = h.waitStep(r.Detections[0].Matched[0].WorkflowID, "contain", "succeeded", "waiting_approval")
	if g := d.Steps[0].Guardrail; d.Steps[0].Status != "waiting_approval" || g == nil || g.Rule != "safe_mode" {
		t.Errorf("after the switch: %s %+v", d.Steps[0].Status, g)
	}
}
