package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// policy.yaml names one approver for the gates it forces; the playbook's
// own gate asks a quorum of 2 of its approvers. The forced gate takes the
// policy's approvers and a quorum of at most their number, so the lone
// security lead approves it.
func TestPolicyApproversQuorumAtMostTheirNumber(t *testing.T) {
	h, v, _ := policyHarness(t, func(req workflows.PolicyCheck) policy.Decision {
		return policy.Decision{Decision: policy.Gate, Rule: "protected_asset", Why: "protected", Approvers: []string{"USECLEAD"}}
	})
	var lead string
	h.vote(2*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "USECLEAD"}, &lead)
	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {users: [UBOB, UALICE]}, quorum: 2, timeout: 30m}`, 1)), det)
	if n := v.count("crowdstrike.contain_host"); lead != "" || n != 1 || res.Gates[0].State != workflows.GateApproved {
		t.Errorf("lead's vote %q; %d calls, gate %s (quorum %d, approvers %v): the policy's only approver cannot decide the gate the policy forced",
			lead, n, res.Gates[0].State, res.Gates[0].Quorum, res.Gates[0].Approvers)
	}
}

// A gate the policy forces (policy approvers USECLEAD) whose playbook says
// on_timeout: escalate is not handed, on timeout, to the playbook's
// escalate_to users (the playbook's author would release the protected
// host): it is denied.
func TestForcedGateDoesNotEscalateToPlaybookApprovers(t *testing.T) {
	h, v, _ := policyHarness(t, func(req workflows.PolicyCheck) policy.Decision {
		return policy.Decision{Decision: policy.Gate, Rule: "protected_asset", Why: "protected", Approvers: []string{"USECLEAD"}}
	})
	var author string
	h.vote(31*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UAUTHOR"}, &author)
	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s",
		`approval: {approvers: {users: [UBOB]}, timeout: 30m, on_timeout: escalate, escalate_to: {users: [UAUTHOR], timeout: 30m}}`, 1)), det)
	if n := v.count("crowdstrike.contain_host"); n != 0 || res.Gates[0].State != workflows.GateTimedOut || res.Gates[0].Escalated {
		t.Errorf("UAUTHOR (playbook escalate_to, not a policy approver) vote %q; %d contain calls, gate %s: a protected host was released by the playbook's own approver",
			author, n, res.Gates[0].State)
	}
}

// A step whose gate says on_timeout: approve is checked as automatic, so
// the guardrails reserve its budget slot before the gate opens. When a
// person denies it the action is never sent, and the slot is given back
// (README: "A slot is given back when the contain action ... was never
// sent").
func TestBudgetSlotGivenBackForDeniedGate(t *testing.T) {
	budget := &policy.Budget{Action: "crowdstrike.contain_host", Max: 5, Per: time.Hour}
	h, v, _ := policyHarness(t, func(req workflows.PolicyCheck) policy.Decision {
		if req.Auto {
			return policy.Decision{Decision: policy.Allow, Rule: "budget", Budget: budget, Why: "budget: 1 of 5 used"}
		}
		return policy.Decision{Decision: policy.Allow}
	})
	releases := recordBudgetReleases(h)
	var deny string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: false, User: "UBOB", Reason: "no"}, &deny)
	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {users: [UBOB]}, timeout: 30m, on_timeout: approve}`, 1)), det)
	st := stepOf(res, "isolate")
	if v.count("crowdstrike.contain_host") != 0 || st.Status != "denied" {
		t.Fatalf("step %s", st.Status)
	}
	if g := st.Guardrail; len(releases.all()) != 1 || g == nil || !g.Released {
		t.Errorf("denied step, action never sent: releases %+v, guardrail %+v; want the reserved slot given back", releases.all(), g)
	}
}
