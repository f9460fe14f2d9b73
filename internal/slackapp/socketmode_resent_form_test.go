package slackapp

import (
	"context"
	"fmt"
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
	fake, cfg, poster := socketModeApp(t)
	dec := newRecDecider()
	dec.release = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunSocketMode(ctx, cfg, poster, dec, nil) }()
	defer func() {
		close(dec.release)
		cancel()
		<-done
	}()
	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := fake.WaitConnected(wait); err != nil {
		t.Fatal(err)
	}
	// 32 slow decisions take every slot.
	for i := range 32 {
		if _, err := fake.PushInteractive(slackfake.BlockActionPayload(fmt.Sprintf("U0APPR%04d", i), fmt.Sprintf("wf-%d", i), "isolate", ActionApprove, "C0RIPOSTE1", "1.000001")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)

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
