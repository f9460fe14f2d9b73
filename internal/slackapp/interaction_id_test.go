package slackapp

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/slack-go/slack"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// asCallback decodes a payload as Slack sends it (slackfake's shapes,
// from Slack's interaction payload reference; see testdata/README.md).
func asCallback(t *testing.T, payload map[string]any) slack.InteractionCallback {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal(b, &cb); err != nil {
		t.Fatal(err)
	}
	return cb
}

// TestDecisionNamesItsSlackInteraction: the decision a click or a reason
// form makes carries the interaction's identity (Decision.Interaction,
// the Temporal Update id approvals.Service sends it with). The same
// payload decided by two replicas (Slack resending an envelope to another
// connection) gives the same identity, so Temporal counts it once; a
// second click or form by the same person gives another, so it is a
// second vote ("already voted"); another person's never equals it.
func TestDecisionNamesItsSlackInteraction(t *testing.T) {
	click := slackfake.BlockActionPayload("U0G9QF9C6", "det-7f3a9c-ransomware-response", "isolate", ActionApprove, "C0RIPOSTE1", "1767323045.000100")
	again := slackfake.BlockActionPayload("U0G9QF9C6", "det-7f3a9c-ransomware-response", "isolate", ActionApprove, "C0RIPOSTE1", "1767323045.000100")
	meta := GateRef{WorkflowID: "det-7f3a9c-ransomware-response", GateID: "isolate", Channel: "C0RIPOSTE1", Approve: false}.Encode()
	form := slackfake.ViewSubmissionPayload("U0G9QF9C6", ReasonModalCallbackID, meta, map[string]map[string]string{ReasonBlockID: {ReasonActionID: "the host owner confirmed the login"}})
	formNoTrigger := slackfake.ViewSubmissionPayload("U0G9QF9C6", ReasonModalCallbackID, meta, map[string]map[string]string{ReasonBlockID: {ReasonActionID: "the host owner confirmed the login"}})
	delete(formNoTrigger, "trigger_id")
	other := asCallback(t, click)
	other.User.ID = "U0OTHER001"

	decided := func(payload slack.InteractionCallback) string {
		t.Helper()
		dec := newRecDecider()
		p, err := NewProcessor(ProcessorOptions{Decider: dec, TeamID: slackfake.TeamID, AppID: slackfake.AppID})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if err := p.ProcessInteraction(context.Background(), payload); err != nil {
			t.Fatal(err)
		}
		calls := dec.Calls()
		if len(calls) != 1 {
			t.Fatalf("Decide called %d times", len(calls))
		}
		return calls[0].Decision.Interaction
	}
	a, b := decided(asCallback(t, click)), decided(asCallback(t, click))
	if a == "" || a != b {
		t.Errorf("one click decided by two replicas: interactions %q and %q, want the same, not empty", a, b)
	}
	if c := decided(asCallback(t, again)); c == a {
		t.Errorf("a second click by the same person has the first one's interaction %q", c)
	}
	if o := decided(other); o == a {
		t.Errorf("another person's click has the first one's interaction %q", o)
	}
	f1, f2 := decided(asCallback(t, form)), decided(asCallback(t, form))
	if f1 == "" || f1 != f2 || f1 == a {
		t.Errorf("one reason form decided by two replicas: interactions %q and %q (the click's %q)", f1, f2, a)
	}
	form2 := slackfake.ViewSubmissionPayload("U0G9QF9C6", ReasonModalCallbackID, meta, map[string]map[string]string{ReasonBlockID: {ReasonActionID: "the host owner confirmed the login"}})
	if f3 := decided(asCallback(t, form2)); f3 == f1 {
		t.Errorf("a second reason form by the same person has the first one's interaction %q", f3)
	}
	if n := decided(asCallback(t, formNoTrigger)); n == "" {
		t.Error("a reason form without a trigger_id has no interaction; its view id and hash name it")
	}
}
