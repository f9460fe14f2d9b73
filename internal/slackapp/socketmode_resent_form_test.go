package slackapp

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// TestSocketModeFormResentWhileWaitingKeepsItsAnswer: a reason form is
// acknowledged once its submission has a slot, or with an error that keeps
// it open ("busy, submit again") when none frees up within QueueWait.
// Slack may send the envelope again meanwhile (same envelope_id: the
// first delivery's ack is not in yet, a connection is being refreshed).
// Acking that resend at once, empty, closed the form before the first
// delivery's answer: the busy error then went to a form already closed,
// the decision was not recorded, and nobody was told. The resend is
// answered by the first delivery's ack (Slack matches acks by
// envelope_id), so the form's first and only answer is that one.
func TestSocketModeFormResentWhileWaitingKeepsItsAnswer(t *testing.T) {
	// 32 slow decisions take every slot.
	fake, _, wait, _ := busySocketMode(t, 32, nil)

	meta := GateRef{WorkflowID: "wf-r", GateID: "isolate", Channel: "C0RIPOSTE1", Approve: false}.Encode()
	id, err := fake.PushInteractive(slackfake.ViewSubmissionPayload("U0LATE0002", ReasonModalCallbackID, meta, map[string]map[string]string{ReasonBlockID: {ReasonActionID: "not the owner's login"}}))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := fake.Redeliver(id, "timeout"); err != nil {
		t.Fatal(err)
	}
	first, err := fake.WaitAck(wait, id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(first.Payload), `"response_action":"errors"`) || !strings.Contains(string(first.Payload), "busy") {
		t.Errorf("the form's first answer is %q: it closed the form, and the submission's busy error came after (lost; the decision not recorded, nobody told)", first.Payload)
	}
	time.Sleep(300 * time.Millisecond)
	for _, a := range fake.Acks() {
		if a.EnvelopeID == id && !strings.Contains(string(a.Payload), "busy") {
			t.Errorf("an ack of the form's envelope without its busy error: %q", a.Payload)
		}
	}
}
