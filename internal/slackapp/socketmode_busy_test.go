package slackapp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// Slack wants every Socket Mode envelope acknowledged within 3 seconds;
// one acked later fails for the person (the click shows an error, the
// reason form says it could not reach the app). When every interaction
// slot is taken (32 decisions waiting on Temporal: with no worker up each
// waits UpdateTimeout, 10s, before it is queued as a signal), the HTTP
// handler answers 503 within QueueWait (1s); Socket Mode instead blocks
// its read loop waiting for a slot, so the envelopes behind it — other
// people's clicks and reason forms — are not even read, let alone acked,
// in time.
func TestSocketModeAcksWithinThreeSecondsWhenBusy(t *testing.T) {
	// 32 slow decisions take every slot, a 33rd waits for one.
	fake, _, wait, _ := busySocketMode(t, 33, nil)
	// Someone else's click.
	id, err := fake.PushInteractive(slackfake.BlockActionPayload("U0LATE0001", "wf-late", "isolate", ActionDeny, "C0RIPOSTE1", "1.000002"))
	if err != nil {
		t.Fatal(err)
	}
	pushed := time.Now()
	in3s, stop3 := context.WithTimeout(context.Background(), 3*time.Second)
	defer stop3()
	if _, err := fake.WaitAck(in3s, id); err != nil {
		t.Fatalf("an interaction pushed while every slot was busy was not acked within Slack's 3 seconds (%s): %v", time.Since(pushed).Round(time.Millisecond), err)
	}
	// The click was not taken: its author is told to click again.
	if err := fake.WaitFor(wait, func() bool {
		for _, e := range fake.Ephemerals() {
			if e.Params["user"] == "U0LATE0001" && strings.Contains(e.Params["text"], "busy") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("the dropped click's author was not told: %+v", fake.Ephemerals())
	}
	// A reason form submitted meanwhile stays open with its reason, acked
	// in time with an error saying to submit again.
	meta := GateRef{WorkflowID: "wf-r", GateID: "isolate", Channel: "C0RIPOSTE1", Approve: true}.Encode()
	id, err = fake.PushInteractive(slackfake.ViewSubmissionPayload("U0LATE0002", ReasonModalCallbackID, meta, map[string]map[string]string{ReasonBlockID: {ReasonActionID: "confirmed with the host owner"}}))
	if err != nil {
		t.Fatal(err)
	}
	in3s, stop3b := context.WithTimeout(context.Background(), 3*time.Second)
	defer stop3b()
	ack, err := fake.WaitAck(in3s, id)
	if err != nil || !strings.Contains(string(ack.Payload), `"response_action":"errors"`) || !strings.Contains(string(ack.Payload), "busy") {
		t.Fatalf("reason form while busy: ack %s, %v", ack.Payload, err)
	}
}

// busySocketMode runs RunSocketMode (logging to logger; nil: nowhere)
// against a fake Slack and pushes clicks slow decisions, which take every
// interaction slot from 32 on (a 33rd waits for one), and waits for them to
// be read. It returns the fake, the decider, a context bounding the test's
// waits, and release, which lets the slow decisions finish (at the latest
// when the test ends, before RunSocketMode is stopped).
func busySocketMode(t *testing.T, clicks int, logger *slog.Logger) (fake *slackfake.Server, dec *recDecider, wait context.Context, release func()) {
	t.Helper()
	fake, cfg, poster := socketModeApp(t)
	dec = newRecDecider()
	dec.release = make(chan struct{})
	release = sync.OnceFunc(func() { close(dec.release) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunSocketMode(ctx, cfg, poster, dec, logger) }()
	wait, stop := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(func() {
		release()
		cancel()
		<-done
		stop()
	})
	if err := fake.WaitConnected(wait); err != nil {
		t.Fatal(err)
	}
	for i := range clicks {
		if _, err := fake.PushInteractive(slackfake.BlockActionPayload(fmt.Sprintf("U0APPR%04d", i), fmt.Sprintf("wf-%d", i), "isolate", ActionApprove, "C0RIPOSTE1", "1.000001")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	return fake, dec, wait, release
}
