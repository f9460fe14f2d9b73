package slackapp

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

// gateDecider records votes as a gate does: a second vote by the same
// person on the same gate is refused ("... has already voted on step ...",
// the workflow's own words).
type gateDecider struct {
	mu    sync.Mutex
	votes map[string]bool
	calls int
}

func (d *gateDecider) Decide(_ context.Context, workflowID string, dec workflows.Decision) (workflows.DecisionResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	key := workflowID + "/" + dec.GateID + "/" + dec.User
	if d.votes[key] {
		return workflows.DecisionResult{}, fmt.Errorf("%w: %s has already voted on step %s", approvals.ErrRefused, dec.User, dec.GateID)
	}
	if d.votes == nil {
		d.votes = map[string]bool{}
	}
	d.votes[key] = true
	return workflows.DecisionResult{State: workflows.GateApproved, Approvals: 1, Quorum: 1}, nil
}

func (d *gateDecider) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls
}

// TestSocketModeRedeliveredEnvelopeIsDroppedQuietly: Slack sends an
// envelope again, same envelope_id and payload with retry_attempt 1, when
// it did not get its ack in time (a slow network, a connection being
// refreshed). The click was recorded once; the resent envelope is acked
// and dropped as a duplicate delivery: no second Decide, and no "Your
// approval was not recorded: ... has already voted" message to the person
// whose approval was recorded.
func TestSocketModeRedeliveredEnvelopeIsDroppedQuietly(t *testing.T) {
	fake, cfg, poster := socketModeApp(t)
	dec := &gateDecider{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- RunSocketMode(ctx, cfg, poster, dec, nil) }()
	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := fake.WaitConnected(wait); err != nil {
		t.Fatalf("the app never connected: %v", err)
	}

	id, err := fake.PushInteractive(slackfake.BlockActionPayload("U0G9QF9C6", "det-7f3a9c-ransomware-response", "isolate", ActionApprove, "C0RIPOSTE1", "1767323045.000100"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(wait, id); err != nil {
		t.Fatal(err)
	}
	for dec.count() < 1 {
		if wait.Err() != nil {
			t.Fatal("the click was not decided")
		}
		time.Sleep(5 * time.Millisecond)
	}

	if err := fake.Redeliver(id, "timeout"); err != nil {
		t.Fatal(err)
	}
	acked := func() int {
		n := 0
		for _, a := range fake.Acks() {
			if a.EnvelopeID == id {
				n++
			}
		}
		return n
	}
	if err := fake.WaitFor(wait, func() bool { return acked() == 2 }); err != nil {
		t.Fatalf("the redelivered envelope was not acked (Slack would send it again): %v", err)
	}
	// A second Decide, or its refusal told to the user, would come within
	// moments of the ack.
	time.Sleep(500 * time.Millisecond)
	if n := dec.count(); n != 1 {
		t.Errorf("Decide called %d times for one click delivered twice, want 1", n)
	}
	if e := fake.Ephemerals(); len(e) != 0 {
		t.Errorf("the person was told %d message(s) about a click recorded once: %+v", len(e), e)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunSocketMode did not return after cancel")
	}
}
