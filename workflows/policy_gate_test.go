package workflows_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// A gate the site policy forces needs a human: the playbook's
// on_timeout: approve does not contain on its own once nobody decided, on
// either path (a gate asked for before the call, or by the guardrail
// check inside it).
func TestPolicyGateNotApprovedByTimeout(t *testing.T) {
	for name, block := range map[string]string{
		"approval.if false":       `approval: {if: "false", approvers: {users: [UBOB]}, timeout: 30m, on_timeout: approve}`,
		"approval block":          `approval: {approvers: {users: [UBOB]}, timeout: 30m, on_timeout: approve}`,
		"approval auto (in call)": `approval: auto`,
	} {
		for _, rule := range []string{"protected_asset", "safe_mode", "budget", "guardrails_unavailable"} {
			t.Run(name+"/"+rule, func(t *testing.T) {
				h, v, _ := policyHarness(t, func(workflows.PolicyCheck) policy.Decision {
					return policy.Decision{Decision: policy.Gate, Rule: rule, Why: "a human must decide"}
				})
				res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", block, 1)), det)
				st := stepOf(res, "isolate")
				if n := v.count("crowdstrike.contain_host"); n != 0 || st.Status == "succeeded" {
					t.Fatalf("nobody decided, yet the host was contained (%d calls, status %s)", n, st.Status)
				}
				if len(res.Gates) != 1 || res.Gates[0].State != workflows.GateTimedOut {
					t.Errorf("gates %+v, want one timed out", res.Gates)
				}
			})
		}
	}
}

// The playbook's own gate (no policy) still follows on_timeout: approve.
func TestPlaybookGateApprovedByTimeout(t *testing.T) {
	h, v, _ := policyHarness(t, func(workflows.PolicyCheck) policy.Decision { return policy.Decision{Decision: policy.Allow} })
	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {users: [UBOB]}, timeout: 30m, on_timeout: approve}`, 1)), det)
	if n := v.count("crowdstrike.contain_host"); n != 1 || res.Gates[0].State != workflows.GateApproved {
		t.Errorf("%d calls, gate %s; want the timeout to approve", n, res.Gates[0].State)
	}
}
