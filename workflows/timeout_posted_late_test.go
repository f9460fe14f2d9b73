package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/workflows"
)

// The gate's deadline is set before its request is posted. When posting
// takes longer than the gate's timeout (Slack rate limiting chat.postMessage:
// slackapp.classify retries after Retry-After), the request reaches the
// channel after the deadline: the gate times out at once, and no approver
// had any time to object. on_timeout: approve "applies only when the
// approvers were asked and could answer until the deadline" (README), so
// nothing may be contained (before, the host was).
func TestTimeoutDoesNotApproveWhenAskedAfterTheDeadline(t *testing.T) {
	var postedAt time.Time
	var h *harness
	open := func(ctx context.Context, req workflows.GateRequest) (workflows.GateOpened, error) {
		if activity.GetInfo(ctx).Attempt < 4 {
			// What slackapp.classify returns for HTTP 429 Retry-After: 60.
			return workflows.GateOpened{}, temporal.NewApplicationErrorWithOptions("slack chat.postMessage: rate limited, retry after 1m0s",
				"SlackRateLimited", temporal.ApplicationErrorOptions{NextRetryDelay: time.Minute})
		}
		postedAt = h.env.Now()
		return workflows.GateOpened{Approvers: req.Users, Channel: "CSEC", MessageTS: "1700000000.000001", Posted: true}, nil
	}
	h, v := gateTimeoutHarness(t, open, nil)

	start := h.env.Now()
	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {users: [UBOB]}, timeout: 2m, on_timeout: approve}`, 1)), det)
	if postedAt.IsZero() {
		t.Fatal("the request was never posted")
	}
	st := stepOf(res, "isolate")
	if len(res.Gates) == 1 && postedAt.Before(res.Gates[0].ExpiresAt) {
		t.Fatalf("the request was posted at +%s, before the deadline %s: the test did not delay it enough", postedAt.Sub(start), res.Gates[0].ExpiresAt)
	}
	if n := v.count("crowdstrike.contain_host"); n != 0 {
		t.Fatalf("the request was posted %s after the run started, after the gate's deadline (%s), yet its timeout contained the host (%d calls; step %s %q; gate decision %+v)",
			postedAt.Sub(start).Round(time.Second), res.Gates[0].ExpiresAt.Sub(start), n, st.Status, st.Reason, res.Gates[0].Decision)
	}
}
