package workflows_test

import (
	"context"
	"strings"
	"testing"

	"go.temporal.io/sdk/activity"

	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// FAILS until fixed (workflows/: not fixed in this commit; see the report).
//
// on_timeout: approve means "contain unless an approver objects in time"
// (README, Human approval). When the approvers named (a Slack user group)
// resolve to nobody, the request is posted but validateDecision refuses
// every vote ("no approver could be resolved ...; the gate will follow
// on_timeout"): nobody could object, exactly as when nobody was asked.
// The timeout must not contain then; today it does.
func TestTimeoutDoesNotApproveWhenNobodyCouldDecide(t *testing.T) {
	h := newHarness(t)
	v := &vendorFake{}
	v.check = func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
		return policy.Decision{Decision: policy.Allow}, nil
	}
	v.register(h.env, "crowdstrike.contain_host", "crowdstrike.lift_containment")
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
		return policy.Decision{Decision: policy.Allow}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
	// What slackapp.Poster.OpenGateOnce answers when the group has no
	// members (or, without Slack, what the worker answers for groups):
	// posted, no approvers.
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.GateRequest) (workflows.GateOpened, error) {
		return workflows.GateOpened{Channel: "CSEC", MessageTS: "1700000000.000001", Posted: true}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityOpenGate})
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.GateUpdate) error { return nil },
		activity.RegisterOptions{Name: workflows.ActivityUpdateGate})

	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {groups: [S0EMPTYGROUP]}, timeout: 30m, on_timeout: approve}`, 1)), det)
	st := stepOf(res, "isolate")
	if n := v.count("crowdstrike.contain_host"); n != 0 {
		t.Fatalf("nobody could approve or deny the gate, yet its timeout contained the host (%d calls; step %s %q; gate decision %+v)", n, st.Status, st.Reason, res.Gates[0].Decision)
	}
	if len(res.Gates) != 1 || res.Gates[0].State != workflows.GateTimedOut {
		t.Fatalf("gates %+v, want one timed out", res.Gates)
	}
	if d := res.Gates[0].Decision; d == nil || !strings.HasPrefix(d.Reason, workflows.ReasonTimeoutNotApplied) {
		t.Errorf("decision %+v, want the reason to say on_timeout: approve was not applied", d)
	}
}
