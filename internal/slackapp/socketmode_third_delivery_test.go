package slackapp

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// holdOnce is a slog.Handler that, the first time a record with message
// msg is logged, reports it on held and blocks until release is closed.
// Socket Mode logs a reason form's busy answer after sending it and before
// it is done with the form: holding that log holds the form's first
// delivery between its answer and its end.
type holdOnce struct {
	msg     string
	once    *sync.Once
	held    chan struct{}
	release chan struct{}
}

func (h holdOnce) Enabled(context.Context, slog.Level) bool { return true }
func (h holdOnce) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h holdOnce) WithGroup(string) slog.Handler            { return h }
func (h holdOnce) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() {
			close(h.held)
			<-h.release
		})
	}
	return nil
}

// TestSocketModeFormSentThreeTimesKeepsItsAnswer: Slack sends an envelope
// it got no ack for again, up to three times (retry_attempt 1, 2, 3;
// testdata/README.md). A reason form is submitted while every slot is
// busy; its first delivery is answered "busy, submit again", and Slack's
// first resend arrives as that answer goes out: it is the submission
// still, and waits for a slot in turn. A second resend arriving while that
// one waits must get its answer too, not an empty ack: the memory of
// deliveries being answered was one mark per envelope, which the first
// delivery's end cleared while the second still waited, so the third
// delivery was acked empty as handled: the form closed, its reason lost,
// nothing decided and nobody told.
func TestSocketModeFormSentThreeTimesKeepsItsAnswer(t *testing.T) {
	hold := holdOnce{msg: "slack interaction refused: busy", once: &sync.Once{}, held: make(chan struct{}), release: make(chan struct{})}
	released := sync.OnceFunc(func() { close(hold.release) })
	t.Cleanup(released)
	// 32 slow decisions take every slot.
	fake, dec, wait, _ := busySocketMode(t, 32, slog.New(hold))

	meta := GateRef{WorkflowID: "wf-r", GateID: "isolate", Channel: "C0RIPOSTE1", Approve: false}.Encode()
	id, err := fake.PushInteractive(slackfake.ViewSubmissionPayload("U0LATE0002", ReasonModalCallbackID, meta, map[string]map[string]string{ReasonBlockID: {ReasonActionID: "not the owner's login"}}))
	if err != nil {
		t.Fatal(err)
	}
	// The first delivery is answered busy (after QueueWait, 1s) ...
	select {
	case <-hold.held:
	case <-wait.Done():
		t.Fatal("the reason form was not answered busy")
	}
	// ... and Slack, which did not get that answer, sends it again: it
	// waits for a slot (up to 1s).
	if err := fake.Redeliver(id, "timeout"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	// The first delivery is done; its resend still waits when Slack sends
	// the envelope a third time.
	released()
	time.Sleep(100 * time.Millisecond)
	if err := fake.Redeliver(id, "timeout"); err != nil {
		t.Fatal(err)
	}
	// Every answer the form gets is the busy error (the slots stay taken):
	// the first delivery's, and the first resend's, which answers the
	// second resend too.
	if err := fake.WaitFor(wait, func() bool { return len(ackPayloads(fake, id)) >= 2 }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	acks := ackPayloads(fake, id)
	for _, a := range acks {
		if !strings.Contains(a, `"response_action":"errors"`) || !strings.Contains(a, "busy") {
			t.Errorf("an ack of the form's envelope without its busy error, which closed the form with nothing decided: %q (all: %q)", a, acks)
		}
	}
	if len(acks) != 2 {
		t.Errorf("the form's envelope was acked %d times (%q), want 2: its first delivery's busy answer and its first resend's", len(acks), acks)
	}
	for _, c := range dec.Calls() {
		if c.Decision.User == "U0LATE0002" {
			t.Errorf("decided %+v while every slot was busy", c.Decision)
		}
	}
}
