package slackapp

import (
	"strings"
	"testing"
	"time"
)

// Who clicked is checked with users.info (the manifest's users:read, "Look
// up the users who decide") before the click is delivered as a decision: a
// guest account (single- or multi-channel guest: a contractor or partner
// invited to the approval channel), a deactivated account, a bot or app
// user, or a person Slack calls a stranger (another organisation's user
// seen through a shared channel) must not approve containment, whatever
// the gate's approver list says — a gate without named approvers ("anyone
// but the requester") would otherwise take their vote. Until fixed, such
// clicks reach the Decider.
func TestSlackClickByGuestBotOrDeactivatedRefused(t *testing.T) {
	for name, fields := range map[string]map[string]any{
		"multi-channel guest":  {"is_restricted": true},
		"single-channel guest": {"is_restricted": true, "is_ultra_restricted": true},
		"deactivated":          {"deleted": true},
		"bot":                  {"is_bot": true},
		"app user":             {"is_app_user": true},
		"stranger":             {"is_stranger": true},
		"unknown to Slack":     nil,
	} {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t)
			env.fake.SetUser("U024BE7LH", fields)
			env.serve(signedClick(t, approvePayload(), nil))
			env.handler.Processor().Wait()
			if n := len(env.decider.calls); n != 0 {
				t.Fatalf("a click by a %s account was delivered as a decision (%d Decide calls)", name, n)
			}
			eph := env.fake.Ephemerals()
			if len(eph) != 1 || eph[0].Params["user"] != "U024BE7LH" || !strings.Contains(eph[0].Params["text"], "not recorded") {
				t.Fatalf("ephemerals: %+v", eph)
			}
		})
	}
	t.Run("full member", func(t *testing.T) {
		env := newTestEnv(t)
		env.fake.SetUser("U024BE7LH", map[string]any{"is_admin": true})
		env.serve(signedClick(t, approvePayload(), nil))
		if !env.decider.waitCalls(1, 5*time.Second) {
			t.Fatal("Decide not called for a full member")
		}
	})
}
