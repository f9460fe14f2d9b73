package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// on_timeout: approve means "contain unless an approver objects in time":
// when nobody was asked (the approval request could not be posted: Slack
// refusing it, the channel gone) or nobody could answer (the named groups
// resolved to no member), nobody's silence approves the containment. The
// gate times out, nothing is contained, and the step says why. (Before,
// the host was contained at the deadline.)
func TestTimeoutDoesNotApproveWhenNobodyWasAsked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		block string
		open  func() (workflows.GateOpened, error)
		want  string
	}{
		{"request not posted", `approval: {approvers: {users: [UBOB]}, timeout: 30m, on_timeout: approve}`,
			func() (workflows.GateOpened, error) {
				return workflows.GateOpened{}, temporal.NewNonRetryableApplicationError("slack chat.postMessage: channel_not_found", "SlackRejected", errors.New("channel_not_found"))
			}, "could not be posted"},
		{"no approver resolved", `approval: {approvers: {groups: [S0EMPTY01]}, timeout: 30m, on_timeout: approve}`,
			func() (workflows.GateOpened, error) {
				return workflows.GateOpened{Channel: "CSEC", MessageTS: "1700000000.000001", Posted: true}, nil
			}, "no approver could be resolved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			posts := 0
			open := func(context.Context, workflows.GateRequest) (workflows.GateOpened, error) {
				posts++
				return tc.open()
			}
			h, v := gateTimeoutHarness(t, open, nil)

			res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", tc.block, 1)), det)
			if posts == 0 {
				t.Fatal("the approval request was never posted")
			}
			st := stepOf(res, "isolate")
			if n := v.count("crowdstrike.contain_host"); n != 0 {
				t.Fatalf("nobody could answer, yet the timeout contained the host (%d calls, step %s)", n, st.Status)
			}
			if len(res.Gates) != 1 || res.Gates[0].State != workflows.GateTimedOut {
				t.Fatalf("gates %+v, want one timed out", res.Gates)
			}
			d := res.Gates[0].Decision
			if d == nil || d.Approve || d.Via != workflows.ViaTimeout || !strings.HasPrefix(d.Reason, workflows.ReasonTimeoutNotApplied) || !strings.Contains(d.Reason, tc.want) {
				t.Errorf("decision %+v, want the timeout's, saying %q", d, tc.want)
			}
			if st.Status != "timed_out" || !strings.Contains(st.Reason, tc.want) {
				t.Errorf("step %s %q, want timed_out saying %q", st.Status, st.Reason, tc.want)
			}
		})
	}
}

// gateTimeoutHarness runs containPlaybook's contain step with the guardrails
// allowing it: open posts its gate's request, update (nil: succeeds)
// updates the request message.
func gateTimeoutHarness(t *testing.T, open func(context.Context, workflows.GateRequest) (workflows.GateOpened, error),
	update func(context.Context, workflows.GateUpdate) error) (*harness, *vendorFake) {
	t.Helper()
	h := newHarness(t)
	allow := func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
		return policy.Decision{Decision: policy.Allow}, nil
	}
	v := &vendorFake{check: allow}
	v.register(h.env, "crowdstrike.contain_host", "crowdstrike.lift_containment")
	h.env.RegisterActivityWithOptions(allow, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
	h.env.RegisterActivityWithOptions(open, activity.RegisterOptions{Name: workflows.ActivityOpenGate})
	if update == nil {
		update = func(context.Context, workflows.GateUpdate) error { return nil }
	}
	h.env.RegisterActivityWithOptions(update, activity.RegisterOptions{Name: workflows.ActivityUpdateGate})
	return h, v
}
