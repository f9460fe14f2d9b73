package slackapp

import (
	"strings"
	"testing"
)

// README: "When Slack cannot say (the lookup failed) the click is refused
// too: click again, or use the CLI." users.info failing (Slack-side error,
// rate limit, the app without users:read) refuses the click: nothing
// reaches the Decider, and the person is told to try again or use the CLI.
func TestSlackClickRefusedWhenUsersInfoFails(t *testing.T) {
	for _, code := range []string{"internal_error", "ratelimited", "missing_scope", "invalid_auth"} {
		t.Run(code, func(t *testing.T) {
			env := newTestEnv(t)
			env.fake.FailNext("users.info", code)
			env.serve(signedClick(t, approvePayload(), nil))
			env.handler.Processor().Wait()
			if n := len(env.decider.Calls()); n != 0 {
				t.Fatalf("users.info failed (%s) and the click was delivered as a decision (%d Decide calls)", code, n)
			}
			eph := env.fake.Ephemerals()
			if len(eph) != 1 || !strings.Contains(eph[0].Params["text"], "not recorded") || !strings.Contains(eph[0].Params["text"], "CLI") {
				t.Fatalf("ephemerals: %+v", eph)
			}
		})
	}
}
