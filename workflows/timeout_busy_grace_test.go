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

// LateTimeoutGrace assumes a busy gate defers its timer by at most "one
// message update, five attempts of a minute". A Slack rate limit
// (chat.update answering 429 with Retry-After; slackapp.classify turns it
// into NextRetryDelay) defers it longer: UALICE's approval 30 s before the
// deadline starts a message update that takes 12 minutes, the workers up
// all along and UBOB free to vote until the deadline. The timeout must
// approve: it used to be judged "late (workers or Temporal were down or
// stalled)", a reason that was not true, and nothing was contained.
func TestTimeoutApprovesAfterARateLimitedMessageUpdate(t *testing.T) {
	open := func(_ context.Context, req workflows.GateRequest) (workflows.GateOpened, error) {
		return workflows.GateOpened{Approvers: req.Users, Channel: "CSEC", MessageTS: "1700000000.000001", Posted: true}, nil
	}
	update := func(ctx context.Context, upd workflows.GateUpdate) error {
		if upd.Gate.State == workflows.GatePending && activity.GetInfo(ctx).Attempt < 5 {
			return temporal.NewApplicationErrorWithOptions("slack chat.update: rate limited, retry after 3m0s",
				"SlackRateLimited", temporal.ApplicationErrorOptions{NextRetryDelay: 3 * time.Minute})
		}
		return nil
	}
	h, v := gateTimeoutHarness(t, open, update)
	var refused string
	h.vote(29*time.Minute+30*time.Second, workflows.Decision{GateID: "isolate", Approve: true, User: "UALICE"}, &refused)

	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {users: [UALICE, UBOB]}, quorum: 2, timeout: 30m, on_timeout: approve}`, 1)), det)
	if refused != "" {
		t.Fatalf("UALICE's approval was refused: %s", refused)
	}
	st := stepOf(res, "isolate")
	if n := v.count("crowdstrike.contain_host"); n != 1 || len(res.Gates) != 1 || res.Gates[0].State != workflows.GateApproved {
		t.Fatalf("the approvers could answer until the deadline and the workers were up, yet the timeout did not approve: step %s %q (%d contain calls)", st.Status, st.Reason, n)
	}
}
