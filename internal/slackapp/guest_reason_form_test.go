package slackapp

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// A guest (users.info is_restricted / is_ultra_restricted), like any
// account that may not decide, is refused at the "with reason" button
// itself: the reason form is not opened (the guest would type a reason
// only to be refused on submit), the guest gets the same ephemeral
// explanation a plain click gets, and nothing reaches the Decider.
func TestReasonButtonByGuestRefusedWithoutForm(t *testing.T) {
	for name, fields := range map[string]map[string]any{
		"multi-channel guest":  {"is_restricted": true},
		"single-channel guest": {"is_restricted": true, "is_ultra_restricted": true},
		"deactivated":          {"deleted": true},
		"bot":                  {"is_bot": true},
	} {
		for _, action := range []string{ActionApproveReason, ActionDenyReason} {
			t.Run(name+"/"+action, func(t *testing.T) {
				env := newTestEnv(t)
				audit := env.audit()
				env.fake.SetUser("U0G9QF9C6", fields)
				click := slackfake.BlockActionPayload("U0G9QF9C6", "det-7f3a9c-ransomware-response", "isolate", action, "C0RIPOSTE1", "1767323045.000100")
				env.serve(signedClick(t, click, nil))
				env.handler.Processor().Wait()
				if views := env.fake.ViewsOpened(); len(views) != 0 {
					t.Fatalf("the reason form was opened for a %s (%d views.open calls)", name, len(views))
				}
				if n := len(env.decider.Calls()); n != 0 {
					t.Fatalf("Decide called %d times", n)
				}
				eph := env.fake.Ephemerals()
				if len(eph) != 1 || eph[0].Params["user"] != "U0G9QF9C6" || !strings.Contains(eph[0].Params["text"], "not recorded") ||
					!strings.Contains(eph[0].Params["text"], "only full members of this workspace decide") {
					t.Fatalf("ephemerals: %+v", eph)
				}
				if recs := audit.refusals(); len(recs) != 1 || !strings.Contains(recs[0], "U0G9QF9C6") {
					t.Errorf("audit records of the refusal: %q", recs)
				}
			})
		}
	}
	t.Run("full member", func(t *testing.T) {
		env := newTestEnv(t)
		click := slackfake.BlockActionPayload("U0G9QF9C6", "det-7f3a9c-ransomware-response", "isolate", ActionApproveReason, "C0RIPOSTE1", "1767323045.000100")
		env.serve(signedClick(t, click, nil))
		env.handler.Processor().Wait()
		if views := env.fake.ViewsOpened(); len(views) != 1 {
			t.Fatalf("views.open called %d times for a full member", len(views))
		}
	})
}
