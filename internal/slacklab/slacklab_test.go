package slacklab

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// The page signs a click as any user it names, so only the page itself
// may send one: a cross-site form post is refused before anything is
// signed, and a non-loopback Host (DNS rebinding) gets neither the page
// (which lists every waiting gate) nor a click.
func TestClickOnlyFromThePage(t *testing.T) {
	var signed atomic.Int32
	interactions := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signed.Add(1)
	}))
	defer interactions.Close()
	fake := slackfake.New()
	defer fake.Close()
	h := Handler(Options{Fake: fake, InteractionsURL: interactions.URL, SigningSecret: "lab secret", Users: []string{"U0SOCLEAD1"}})
	form := url.Values{"user": {"U0SOCLEAD1"}, "channel": {"C0APPROVALS"}, "ts": {"1700000000.000001"},
		"action_id": {"riposte_approve"}, "value": {slackfake.ButtonValue("contain:sentinelone.abc.xyz", "isolate", "")}}.Encode()
	for _, c := range []struct {
		name, host string
		headers    map[string]string
		want       int
		signs      bool
	}{
		{"cross-site form post", "127.0.0.1:8080", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, false},
		{"other origin, no fetch metadata", "127.0.0.1:8080", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden, false},
		{"rebound host", "rebind.evil.example:8080", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusMisdirectedRequest, false},
		{"the page itself", "127.0.0.1:8080", map[string]string{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther, true},
		{"a client without a browser", "localhost:8080", nil, http.StatusSeeOther, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := signed.Load()
			req := httptest.NewRequest("POST", "http://"+c.host+"/lab/slack/click", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range c.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.want || (signed.Load() > before) != c.signs {
				t.Errorf("POST /lab/slack/click: %d, signed click sent %v; want %d, %v", rec.Code, signed.Load() > before, c.want, c.signs)
			}
		})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://rebind.evil.example:8080/lab/slack", nil))
	if rec.Code != http.StatusMisdirectedRequest {
		t.Errorf("GET /lab/slack with a rebound Host: %d, want 421", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:8080/lab/slack", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET /lab/slack on loopback: %d", rec.Code)
	}
}
