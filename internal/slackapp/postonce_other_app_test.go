package slackapp

import (
	"context"
	"testing"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// Posting once trusts a message in the channel's history as "already
// posted by an earlier attempt" only when Riposte's own app posted it.
// conversations.history with include_all_metadata returns every app's
// metadata: another app in the channel (a second Riposte deployment for
// staging posting the same detections, or any app a member installed)
// whose message carries the same event_type and idempotency key would
// otherwise stand in for the approval request or notification, which
// Riposte then never posts (and whose buttons are not Riposte's).
func TestFindPostedIgnoresOtherApps(t *testing.T) {
	const ch, key = "C0SOC00001", "wf-1/notify/0"
	fake := slackfake.New()
	defer fake.Close()
	p, err := NewPoster(Config{BotToken: slackfake.BotToken, APIURL: fake.URL(), ApprovalChannel: ch,
		TeamID: slackfake.TeamID, AppID: slackfake.AppID}, PosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fake.PostAsOtherApp(ch, "A0OTHERAPP1", "B0OTHERBOT1", "Host fin-ws-042 contained",
		map[string]any{"event_type": StepEventType, "event_payload": map[string]any{"idempotency_key": key}})
	ts, found, err := p.FindPosted(context.Background(), ch, key, testNow.Add(-24*60*60*1e9), nil)
	if err != nil {
		t.Fatal(err)
	}
	if found {
		t.Fatalf("another app's message (ts %s) was taken for Riposte's own earlier post", ts)
	}
	// Riposte's own message with the key is found.
	if _, _, err := p.PostTextOnce(context.Background(), ch, "Host fin-ws-042 contained", key); err != nil {
		t.Fatal(err)
	}
	if _, found, err := p.FindPosted(context.Background(), ch, key, testNow.Add(-24*60*60*1e9), nil); err != nil || !found {
		t.Fatalf("Riposte's own post not found: %v %v", found, err)
	}
}
