package slackapp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

// socketModeApp is a Slack fake and a Poster on it, with the Socket Mode
// config of the fake's app.
func socketModeApp(t *testing.T) (*slackfake.Server, Config, *Poster) {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	cfg := Config{TeamID: slackfake.TeamID, AppID: slackfake.AppID, BotToken: slackfake.BotToken, AppToken: slackfake.AppToken, APIURL: fake.URL(), ApprovalChannel: "C0RIPOSTE1"}
	poster, err := NewPoster(cfg, PosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fake, cfg, poster
}

func TestSocketMode(t *testing.T) {
	fake, cfg, poster := socketModeApp(t)
	dec := newRecDecider()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunSocketMode(ctx, cfg, poster, dec, nil) }()

	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := fake.WaitConnected(wait); err != nil {
		t.Fatalf("the app never connected: %v", err)
	}

	// A click: acked, then decided.
	id, err := fake.PushInteractive(slackfake.BlockActionPayload("U0G9QF9C6", "det-7f3a9c-ransomware-response", "isolate", ActionDeny, "C0RIPOSTE1", "1767323045.000100"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(wait, id); err != nil {
		t.Fatal(err)
	}
	if !dec.waitCalls(1, 5*time.Second) {
		t.Fatal("Decide was not called")
	}
	calls := dec.Calls()
	d := calls[0].Decision
	if calls[0].WorkflowID != "det-7f3a9c-ransomware-response" || d.GateID != "isolate" || d.Approve || d.User != "U0G9QF9C6" ||
		d.Via != workflows.ViaSlack || d.MessageTS != "1767323045.000100" {
		t.Errorf("Decide(%+v)", calls[0])
	}

	// An empty reason: the ack carries the errors that keep the modal open.
	meta := GateRef{WorkflowID: "wf", GateID: "g", Channel: "C0RIPOSTE1", Approve: true}.Encode()
	id, err = fake.PushInteractive(slackfake.ViewSubmissionPayload("U0G9QF9C6", ReasonModalCallbackID, meta, map[string]map[string]string{ReasonBlockID: {ReasonActionID: ""}}))
	if err != nil {
		t.Fatal(err)
	}
	ack, err := fake.WaitAck(wait, id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack.Payload), `"response_action":"errors"`) {
		t.Errorf("ack payload %s", ack.Payload)
	}

	// Envelopes Riposte does not use are acked all the same.
	id, err = fake.PushEnvelope("events_api", map[string]any{"type": "event_callback", "event": map[string]any{"type": "app_mention", "text": "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(wait, id); err != nil {
		t.Fatal(err)
	}

	// Slack asks the app to reconnect; it does, and keeps working.
	if err := fake.PushDisconnect(); err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitFor(wait, func() bool { return fake.ConnectionsOpened() >= 2 }); err != nil {
		t.Fatalf("no reconnection: %v", err)
	}
	id, err = fake.PushInteractive(slackfake.BlockActionPayload("U024BE7LH", "wf2", "g2", ActionApprove, "C0RIPOSTE1", "1.000001"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(wait, id); err != nil {
		t.Fatal(err)
	}
	dec.waitCalls(2, 5*time.Second)
	if n := len(dec.Calls()); n != 2 {
		t.Errorf("Decide called %d times after reconnecting, want 2", n)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunSocketMode returned %v on cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunSocketMode did not return after cancel")
	}
}

func TestSocketModeBadAppToken(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	cfg := Config{BotToken: slackfake.BotToken, AppToken: "xapp-1-revoked", APIURL: fake.URL(), ApprovalChannel: "C1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := RunSocketMode(ctx, cfg, nil, newRecDecider(), nil)
	if err == nil || !strings.Contains(err.Error(), EnvAppToken) {
		t.Fatalf("err = %v, want one naming %s", err, EnvAppToken)
	}
	if err := RunSocketMode(ctx, Config{BotToken: slackfake.BotToken}, nil, newRecDecider(), nil); err == nil {
		t.Error("RunSocketMode without an app token succeeded")
	}
}
