package workflows_test

import (
	"strings"
	"testing"
	"time"

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

// A playbook gate that its timeout approves is checked as automatic: with
// safe mode on, or below the confidence floor, the policy forces the gate,
// and nobody deciding denies it (the real policy, not a stand-in).
func TestGateApprovedOnTimeoutIsCheckedAsAutomatic(t *testing.T) {
	for name, tc := range map[string]struct {
		policy     string
		confidence any
	}{
		"safe mode":        {"safe_mode: true\n", 95},
		"confidence floor": {"confidence_floor: 80\n", 10},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := policy.Parse("policy.yaml", []byte(tc.policy))
			if err != nil {
				t.Fatal(err)
			}
			h, v, _ := policyHarness(t, func(req workflows.PolicyCheck) policy.Decision { return p.Evaluate(req.Request, false) })
			d := map[string]any{}
			for k, val := range det {
				d[k] = val
			}
			d["confidence_score"] = tc.confidence
			res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {users: [UBOB]}, timeout: 30m, on_timeout: approve}`, 1)), d)
			if n := v.count("crowdstrike.contain_host"); n != 0 {
				t.Errorf("nobody decided, yet the host was contained (%d calls, gate %s, guardrail %+v)", n, res.Gates[0].State, stepOf(res, "isolate").Guardrail)
			}
		})
	}
}

// policy.yaml's approvers decide a gate the policy forces: the playbook's
// own approver (its author, say) cannot release a protected host.
func TestPolicyApproversDecideForcedGate(t *testing.T) {
	h, v, _ := policyHarness(t, func(req workflows.PolicyCheck) policy.Decision {
		return policy.Decision{Decision: policy.Gate, Rule: "protected_asset", Why: "protected", Approvers: []string{"USECLEAD"}}
	})
	var bob, lead string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &bob)
	h.vote(2*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "USECLEAD"}, &lead)
	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {users: [UBOB]}, timeout: 30m}`, 1)), det)
	if bob == "" || lead != "" {
		t.Errorf("UBOB's vote: %q (want refused); USECLEAD's: %q (want accepted)", bob, lead)
	}
	if n := v.count("crowdstrike.contain_host"); n != 1 || res.Gates[0].State != workflows.GateApproved {
		t.Errorf("%d calls, gate %s, approvers %v", n, res.Gates[0].State, res.Gates[0].Approvers)
	}
}
