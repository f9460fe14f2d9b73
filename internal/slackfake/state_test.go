package slackfake

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/slack-go/slack"
)

// riposte dev keeps the Slack fake's messages in its data dir: started
// again, the fake still shows the request messages of runs waiting at a
// gate, and their chat.update lands instead of answering message_not_found
// (which left the lab page without them, and the worker logging errors).
func TestPersistKeepsMessagesAcrossRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lab-slack.json")
	ctx := context.Background()

	first := New()
	stop, err := first.Persist(file, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	api := client(first, BotToken)
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Approve isolate?", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("Approved so far: 1 of 2", false)); err != nil {
		t.Fatal(err)
	}
	stop()
	first.Close()

	second := New()
	defer second.Close()
	stop, err = second.Persist(file, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	msgs := second.Conversation()
	if len(msgs) != 1 || msgs[0].TS != ts || msgs[0].Text != "Approved so far: 1 of 2" || msgs[0].Updates != 1 {
		t.Fatalf("after the restart the channel shows %+v, want the message with its update", msgs)
	}
	api = client(second, BotToken)
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("Approved", false)); err != nil {
		t.Errorf("chat.update of the message posted before the restart: %v", err)
	}
	_, ts2, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("next", false))
	if err != nil || ts2 <= ts {
		t.Errorf("a message posted after the restart got ts %q (%v), want one after %q", ts2, err, ts)
	}
	if got := second.Conversation(); len(got) != 2 || got[0].Text != "Approved" {
		t.Errorf("channel now %+v", got)
	}
}

// A state file that cannot be read is a clear error, not an empty channel
// that overwrites it.
func TestPersistRefusesABadStateFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lab-slack.json")
	if err := os.WriteFile(file, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := New()
	defer s.Close()
	if _, err := s.Persist(file, nil); err == nil {
		t.Fatal("a corrupt state file was accepted")
	}
	if b, _ := os.ReadFile(file); string(b) != "{not json" {
		t.Errorf("the state file was overwritten: %q", b)
	}
}
