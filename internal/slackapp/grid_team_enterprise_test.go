package slackapp

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// On Enterprise Grid an interaction payload may name the organisation
// only in team.enterprise_id, with "enterprise" null or absent: Slack's
// own framework reads the organisation of an action, view submission or
// shortcut from enterprise.id and, when that is missing, from
// team.enterprise_id (bolt-js App.buildSource; its ViewSubmit type has
// team.enterprise_id and no top-level enterprise). CheckOrigin already
// falls back to team.enterprise_id for user.team_id, but compared
// SLACK_ENTERPRISE_ID with enterprise.id alone, so such a click or reason
// form from the configured organisation and workspace was refused 403 as
// "from another organisation". Another organisation named in
// team.enterprise_id is still refused.
func TestEnterpriseGridOrganisationInTeamEnterpriseID(t *testing.T) {
	meta := GateRef{WorkflowID: "det-7f3a9c-ransomware-response", GateID: "isolate", MessageTS: "1767323045.000100", Channel: "C0RIPOSTE1", Approve: true}.Encode()
	payloads := map[string]func() map[string]any{
		"block_actions": approvePayload,
		"view_submission": func() map[string]any {
			return slackfake.ViewSubmissionPayload("U024BE7LH", ReasonModalCallbackID, meta,
				map[string]map[string]string{ReasonBlockID: {ReasonActionID: "confirmed with the host owner"}})
		},
	}
	for kind, build := range payloads {
		for name, c := range map[string]struct {
			teamEnterprise string
			ok             bool
		}{
			"our organisation":   {"E0OURS0001", true},
			"other organisation": {"E0EVIL0001", false},
			"none":               {"", false},
		} {
			t.Run(kind+"/"+name, func(t *testing.T) {
				env := newTestEnv(t)
				env.handler.proc.origin.EnterpriseID = "E0OURS0001"
				p := build()
				p["enterprise"] = nil
				team := map[string]any{"id": slackfake.TeamID, "domain": "fake"}
				if c.teamEnterprise != "" {
					team["enterprise_id"], team["enterprise_name"] = c.teamEnterprise, "Org"
				}
				p["team"] = team
				w := env.serve(signedClick(t, p, nil))
				if c.ok {
					if w.Code != http.StatusOK || !env.decider.waitCalls(1, 5*time.Second) {
						t.Fatalf("a %s of the configured workspace and organisation (team.enterprise_id %s, enterprise null): status %d, Decide not called: %s",
							kind, c.teamEnterprise, w.Code, w.Body)
					}
					return
				}
				env.handler.Processor().Wait()
				if w.Code != http.StatusForbidden || len(env.decider.Calls()) != 0 || !strings.Contains(w.Body.String(), "another workspace") {
					t.Fatalf("status %d, %d Decide calls: %s", w.Code, len(env.decider.Calls()), w.Body)
				}
			})
		}
	}
}
