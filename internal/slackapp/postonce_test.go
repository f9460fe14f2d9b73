package slackapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// postChatter posts n messages without metadata, as other apps and people
// do in a busy channel.
func postChatter(t *testing.T, p *Poster, channel string, n int) {
	t.Helper()
	for i := range n {
		if _, _, err := p.PostText(context.Background(), channel, fmt.Sprintf("chatter %d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// FindPosted follows the cursor: Slack answers 15 messages a page to apps
// not approved for the Marketplace (slackfake.Server.HistoryPageMax).
func TestFindPostedPages(t *testing.T) {
	const ch, key = "C0SOC00001", "wf-1/notify/0"
	tests := []struct {
		name        string
		post        bool
		after       int           // messages posted after the step's
		since       time.Duration // from the step's post; 0: no bound
		found       bool
		pages, read int
	}{
		{name: "on the first page", post: true, after: 5, found: true, pages: 1, read: 6},
		{name: "on the second page", post: true, after: 20, found: true, pages: 2, read: 21},
		{name: "not posted", after: 40, pages: 3, read: 40},
		{name: "older than the latest 200", post: true, after: 210, pages: 14, read: 200},
		{name: "posted before since", post: true, after: 3, since: 2 * time.Second, pages: 1, read: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newTestPoster(t, nil)
			var ts string
			if tt.post {
				var err error
				if _, ts, err = p.PostTextOnce(context.Background(), ch, "Host fin-ws-042 contained", key); err != nil {
					t.Fatal(err)
				}
			}
			var since time.Time
			if tt.since != 0 {
				since = time.Now().Add(tt.since)
			}
			postChatter(t, p, ch, tt.after)
			var scan HistoryScan
			got, found, err := p.FindPosted(context.Background(), ch, key, since, &scan)
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.found || found && got != ts {
				t.Errorf("found %v %q, want %v %q", found, got, tt.found, ts)
			}
			if scan.Pages != tt.pages || scan.Scanned != tt.read {
				t.Errorf("read %d messages in %d pages, want %d in %d", scan.Scanned, scan.Pages, tt.read, tt.pages)
			}
			if n := len(calls(fake, "conversations.history")); n != tt.pages {
				t.Errorf("%d conversations.history calls, want %d", n, tt.pages)
			}
		})
	}
}

func calls(fake *slackfake.Server, method string) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range fake.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// limitSecondHistoryPage rate-limits the second conversations.history call,
// as Slack's 1 request a minute does.
type limitSecondHistoryPage struct {
	fake *slackfake.Server
	n    int
}

func (l *limitSecondHistoryPage) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/conversations.history") {
		if l.n++; l.n == 2 {
			l.fake.RateLimit("conversations.history", time.Minute, 1)
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A rate limit between two pages is not "not found": it is retryable after
// Slack's Retry-After, and the retry goes on from the page it stopped at.
func TestFindPostedRateLimitedBetweenPages(t *testing.T) {
	const ch, key = "C0SOC00001", "wf-1/notify/0"
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	p, err := NewPoster(Config{BotToken: slackfake.BotToken, APIURL: strings.TrimSuffix(fake.URL(), "/")},
		PosterOptions{HTTPClient: &http.Client{Transport: &limitSecondHistoryPage{fake: fake}}})
	if err != nil {
		t.Fatal(err)
	}
	_, ts, err := p.PostTextOnce(context.Background(), ch, "Host fin-ws-042 contained", key)
	if err != nil {
		t.Fatal(err)
	}
	postChatter(t, p, ch, 20)
	var scan HistoryScan
	_, found, err := p.FindPosted(context.Background(), ch, key, time.Time{}, &scan)
	var ae *temporal.ApplicationError
	if found || !errors.As(err, &ae) || ae.Type() != ErrTypeRateLimited || ae.NonRetryable() || ae.NextRetryDelay() != time.Minute {
		t.Fatalf("found %v, err %v (want retryable %s after 1m)", found, err, ErrTypeRateLimited)
	}
	if scan.Pages != 1 || scan.Cursor == "" {
		t.Fatalf("scan = %+v, want the second page's cursor", scan)
	}
	got, found, err := p.FindPosted(context.Background(), ch, key, time.Time{}, &scan)
	if err != nil || !found || got != ts {
		t.Fatalf("resumed: %q %v %v", got, found, err)
	}
	hist := calls(fake, "conversations.history")
	if len(hist) != 3 || hist[0].Params["cursor"] != "" || hist[2].Params["cursor"] != hist[1].Params["cursor"] || hist[1].Params["cursor"] == "" {
		t.Errorf("conversations.history cursors: %q", []string{hist[0].Params["cursor"], hist[1].Params["cursor"], hist[len(hist)-1].Params["cursor"]})
	}
}
