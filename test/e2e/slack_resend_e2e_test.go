package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

// TestSlackResendToAnotherReplicaIsTheSameVote: with two riposte serve
// replicas, each holds a Socket Mode connection, and Slack sends an
// envelope whose ack it did not see again (same envelope_id and payload,
// retry_attempt 1) to either of them. A resend that reaches the replica
// which did not handle the first delivery is the same click: it is not
// counted again, and the person whose approval was recorded is not told
// "Your approval was not recorded: ... has already voted". A genuinely
// second click by the same person (a new interaction: its own trigger_id)
// is still refused as a second vote. Real Temporal (riposte dev's), a
// quorum-2 gate so that the gate stays open after the first vote.
func TestSlackResendToAnotherReplicaIsTheSameVote(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wid := gatedSlackRun(ctx, t, h, fake, "slack-resend-1", "quorum_gate", "e2e-gated-quorum")

	votes := func() []workflows.Decision {
		for _, st := range h.waitOrState(wid).Steps {
			if st.ID == "approve" && st.Gate != nil {
				return st.Gate.Votes
			}
		}
		return nil
	}
	// The click reaches replica A (riposte dev's connection).
	env, err := fake.PushInteractive(slackfake.BlockActionPayload("URECORDER", wid, "approve", slackapp.ActionApprove, "CSECOPS", ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitFor(ctx, func() bool { return len(votes()) == 1 }); err != nil {
		t.Fatalf("the click was not recorded: %v", err)
	}

	// Replica B: another process with the same app, deciding through the
	// same Temporal (what riposte serve runs: approvals.Service).
	replicaB(ctx, t, h, fake)

	// Slack did not see A's ack: it sends the envelope again, to B (the
	// newest connection).
	if err := fake.Redeliver(env, "timeout"); err != nil {
		t.Fatal(err)
	}
	acks := func(id string) int {
		n := 0
		for _, a := range fake.Acks() {
			if a.EnvelopeID == id {
				n++
			}
		}
		return n
	}
	if err := fake.WaitFor(ctx, func() bool { return acks(env) == 2 }); err != nil {
		t.Fatalf("the resent envelope was not acked: %v", err)
	}
	told := func(user, text string) []string {
		var out []string
		for _, e := range fake.Ephemerals() {
			if e.Params["user"] == user && strings.Contains(e.Params["text"], text) {
				out = append(out, e.Params["text"])
			}
		}
		return out
	}
	// B decides within moments of its ack; a refusal is told at once.
	time.Sleep(3 * time.Second)
	if m := told("URECORDER", "not recorded"); len(m) > 0 {
		t.Errorf("the person whose approval was recorded once was told, after Slack resent the click to another replica: %q", m)
	}
	if v := votes(); len(v) != 1 {
		t.Errorf("votes after the resend: %+v, want the one approval", v)
	}

	// A genuinely second click by the same person is a second vote.
	if _, err := fake.PushInteractive(slackfake.BlockActionPayload("URECORDER", wid, "approve", slackapp.ActionApprove, "CSECOPS", "")); err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitFor(ctx, func() bool { return len(told("URECORDER", "already voted")) > 0 }); err != nil {
		t.Errorf("a second click by the same person was not refused as a second vote: %v (%+v)", err, fake.Ephemerals())
	}
	if v := votes(); len(v) != 1 {
		t.Errorf("votes after a second click: %+v, want the one approval", v)
	}
}

// gatedSlackRun waits for riposte dev's Socket Mode connection, submits a
// detection (uid) whose unmapped flag (flag) makes the playbook pb match,
// and returns that run's workflow id once its "approve" step waits for
// approval.
func gatedSlackRun(ctx context.Context, t *testing.T, h *devHarness, fake *slackfake.Server, uid, flag, pb string) string {
	t.Helper()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatalf("socket mode did not connect: %v", err)
	}
	code, r := h.submit(detectionJSON(uid, 3, `,"unmapped":{"`+flag+`":true}`))
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	var wid string
	for _, m := range r.Detections[0].Matched {
		if m.Playbook == pb {
			wid = m.WorkflowID
		}
	}
	if wid == "" {
		t.Fatalf("no %s run: %+v", pb, r.Detections[0].Matched)
	}
	h.waitStep(wid, "approve", "waiting_approval")
	return wid
}

// replicaB starts a second Socket Mode connection of the same app, as
// another riposte serve replica runs it (approvals.Service through the
// same Temporal), and waits until Slack's fake sees both; it stops with
// the test.
func replicaB(ctx context.Context, t *testing.T, h *devHarness, fake *slackfake.Server) {
	t.Helper()
	cfg := slackapp.ConfigFromEnv()
	poster, err := slackapp.NewPoster(cfg, slackapp.PosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes := func(context.Context) bool { return true }
	svc := &approvals.Service{Client: h.sys.Client, Namespace: h.sys.Temporal.Namespace, Keys: h.sys.DecisionKeys, SealsCredential: yes, SealsRun: yes}
	bctx, bcancel := context.WithCancel(context.Background())
	bdone := make(chan error, 1)
	go func() { bdone <- slackapp.RunSocketMode(bctx, cfg, poster, svc, nil) }()
	t.Cleanup(func() {
		bcancel()
		<-bdone
	})
	if err := fake.WaitFor(ctx, func() bool { return fake.Connected() == 2 }); err != nil {
		t.Fatalf("replica B did not connect: %v", err)
	}
}
