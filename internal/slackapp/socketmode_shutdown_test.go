package slackapp

import (
	"context"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// TestSocketModeShutdownFinishesAckedClicks: a click is acknowledged to
// Slack before it is decided (Slack wants the ack within 3 s), so once
// acked Slack never sends it again. A SIGTERM (serve's context cancelled)
// arriving while that decision is under way must let it finish, as the
// HTTP API lets its requests in flight finish, rather than cancel it: the
// approver saw the click go through, and a cancelled decision is a vote
// lost without anyone being told.
func TestSocketModeShutdownFinishesAckedClicks(t *testing.T) {
	fake, cfg, poster := socketModeApp(t)
	dec := newRecDecider()
	dec.release = make(chan struct{})
	dec.started = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunSocketMode(ctx, cfg, poster, dec, nil) }()

	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := fake.WaitConnected(wait); err != nil {
		t.Fatalf("the app never connected: %v", err)
	}
	id, err := fake.PushInteractive(slackfake.BlockActionPayload("U0G9QF9C6", "det-1", "isolate", ActionApprove, "C0RIPOSTE1", "1767323045.000100"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(wait, id); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dec.started:
	case <-wait.Done():
		t.Fatal("Decide was not called")
	}

	// SIGTERM while the decision is under way; the Temporal Update it
	// makes answers 200 ms later.
	cancel()
	time.AfterFunc(200*time.Millisecond, func() { close(dec.release) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunSocketMode did not return after cancel")
	}
	if n := len(dec.Calls()); n != 1 {
		t.Errorf("the click acked to Slack before the SIGTERM was decided %d times, want 1: shutdown cancelled the decision in flight", n)
	}
}
