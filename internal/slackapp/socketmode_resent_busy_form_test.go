package slackapp

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// TestSocketModeFormResentAfterItsBusyAnswer: a reason form submitted
// while every slot is busy is answered with the error that keeps it open
// ("busy, submit again"); nothing was decided. When Slack did not get
// that answer (late, or written to a connection being refreshed) it sends
// the envelope again, and that resend arrives after the first delivery
// was answered. Acking it at once, empty, as a resend of a handled
// envelope, closed the form: the person saw it go through, and the
// decision was never made nor anyone told. The resend is handled as the
// submission it still is: decided once a slot is free.
func TestSocketModeFormResentAfterItsBusyAnswer(t *testing.T) {
	// 32 slow decisions take every slot.
	fake, dec, wait, release := busySocketMode(t, 32, nil)

	meta := GateRef{WorkflowID: "wf-r", GateID: "isolate", Channel: "C0RIPOSTE1", Approve: false}.Encode()
	id, err := fake.PushInteractive(slackfake.ViewSubmissionPayload("U0LATE0002", ReasonModalCallbackID, meta, map[string]map[string]string{ReasonBlockID: {ReasonActionID: "not the owner's login"}}))
	if err != nil {
		t.Fatal(err)
	}
	first, err := fake.WaitAck(wait, id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(first.Payload), "busy") {
		t.Fatalf("the form's first answer is %q, want the busy error", first.Payload)
	}
	// The slots free up; Slack, which did not get the busy answer, sends
	// the form's envelope again.
	release()
	if !dec.waitCalls(32, 10*time.Second) {
		t.Fatalf("the 32 decisions did not finish: %d", len(dec.Calls()))
	}
	if err := fake.Redeliver(id, "timeout"); err != nil {
		t.Fatal(err)
	}
	if !dec.waitCalls(33, 5*time.Second) {
		t.Errorf("the reason form resent after its busy answer was not decided (acks of its envelope: %v)", ackPayloads(fake, id))
	}
	for _, c := range dec.Calls() {
		if c.Decision.User == "U0LATE0002" && c.Decision.Reason != "not the owner's login" {
			t.Errorf("decided %+v", c.Decision)
		}
	}
}

func ackPayloads(fake *slackfake.Server, id string) []string {
	var out []string
	for _, a := range fake.Acks() {
		if a.EnvelopeID == id {
			out = append(out, string(a.Payload))
		}
	}
	return out
}
