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
// when the approval request could not be posted (Slack refusing it, the
// channel gone), nobody was asked, and nobody's silence approves the
// containment. The gate times out, nothing is contained, and the step says
// why. (Before, the host was contained at the deadline.)
func TestTimeoutDoesNotApproveWhenNobodyWasAsked(t *testing.T) {
	h := newHarness(t)
	v := &vendorFake{}
	v.check = func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
		return policy.Decision{Decision: policy.Allow}, nil
	}
	v.register(h.env, "crowdstrike.contain_host", "crowdstrike.lift_containment")
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
		return policy.Decision{Decision: policy.Allow}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
	posts := 0
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.GateRequest) (workflows.GateOpened, error) {
		posts++
		return workflows.GateOpened{}, temporal.NewNonRetryableApplicationError("slack chat.postMessage: channel_not_found", "SlackRejected", errors.New("channel_not_found"))
	}, activity.RegisterOptions{Name: workflows.ActivityOpenGate})
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.GateUpdate) error { return nil },
		activity.RegisterOptions{Name: workflows.ActivityUpdateGate})

	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {users: [UBOB]}, timeout: 30m, on_timeout: approve}`, 1)), det)
	if posts == 0 {
		t.Fatal("the approval request was never posted")
	}
	st := stepOf(res, "isolate")
	if n := v.count("crowdstrike.contain_host"); n != 0 {
		t.Fatalf("nobody was asked, yet the timeout contained the host (%d calls, step %s)", n, st.Status)
	}
	if len(res.Gates) != 1 || res.Gates[0].State != workflows.GateTimedOut {
		t.Fatalf("gates %+v, want one timed out", res.Gates)
	}
	d := res.Gates[0].Decision
	if d == nil || d.Approve || d.Via != workflows.ViaTimeout || !strings.HasPrefix(d.Reason, workflows.ReasonTimeoutNotApplied) || !strings.Contains(d.Reason, "nobody was asked") {
		t.Errorf("decision %+v, want the timeout's, saying nobody was asked", d)
	}
	if st.Status != "timed_out" || !strings.Contains(st.Reason, "could not be posted") {
		t.Errorf("step %s %q, want timed_out saying the request could not be posted", st.Status, st.Reason)
	}
}
