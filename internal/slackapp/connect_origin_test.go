package slackapp

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// A Slack Connect channel holds people of other organisations. When one of
// them clicks Approve on the request posted in the shared channel, Slack's
// block_actions payload names the app's own workspace in team.id (the
// installation the payload is delivered for) and the clicking person's own
// workspace in user.team_id. README: "SLACK_TEAM_ID … required: other
// workspaces/apps are refused". The person belongs to another workspace;
// their click must not vote.
func TestSlackConnectUserFromAnotherOrgRefused(t *testing.T) {
	env := newTestEnv(t)
	audit := env.audit()
	p := approvePayload()
	p["user"] = map[string]any{"id": "U0EXT00001", "username": "mallory", "name": "mallory", "team_id": "T0OTHERORG"}
	w := env.serve(signedClick(t, p, nil))
	env.handler.Processor().Wait()
	if n := len(env.decider.calls); n != 0 {
		t.Fatalf("a click by U0EXT00001 of workspace T0OTHERORG (a Slack Connect guest of the approval channel) was delivered as a decision (%d Decide calls; status %d)", n, w.Code)
	}
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "another workspace") {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	audit.refusedOnce(t, 1, `user.team_id \"T0OTHERORG\"`)
}

// Enterprise Grid: user.team_id is the organisation's id (E…) instead of a
// workspace's. A click by a member of the configured organisation counts;
// one whose user.team_id names another organisation does not.
func TestEnterpriseGridUserTeamID(t *testing.T) {
	for name, c := range map[string]struct {
		userTeam string
		ok       bool
	}{
		"our workspace":    {"T0FAKE0001", true},
		"our organisation": {"E0OURS0001", true},
		"other org":        {"E0EVIL0001", false},
		"no user.team_id":  {"", false},
	} {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t)
			env.handler.proc.origin.EnterpriseID = "E0OURS0001"
			p := approvePayload()
			p["enterprise"] = map[string]any{"id": "E0OURS0001"}
			p["user"] = map[string]any{"id": "W0GRID0001", "username": "ann", "name": "ann", "team_id": c.userTeam}
			w := env.serve(signedClick(t, p, nil))
			if c.ok {
				if w.Code != http.StatusOK || !env.decider.waitCalls(1, 5*time.Second) {
					t.Fatalf("status %d, Decide not called: %s", w.Code, w.Body)
				}
				// The decision names what authenticated the click: Slack's
				// signature for the clicker's workspace or organisation.
				if got := env.decider.Calls()[0].Decision.Credential; got != "slack:"+c.userTeam {
					t.Errorf("decision credential %q, want slack:%s", got, c.userTeam)
				}
				return
			}
			env.handler.Processor().Wait()
			if w.Code != http.StatusForbidden || len(env.decider.calls) != 0 {
				t.Fatalf("status %d, %d Decide calls: %s", w.Code, len(env.decider.calls), w.Body)
			}
		})
	}
}
