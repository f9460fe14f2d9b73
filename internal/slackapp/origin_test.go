package slackapp

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

func signedClick(t *testing.T, payload map[string]any, sigCase func(string) string) *http.Request {
	t.Helper()
	body := slackfake.InteractionBody(payload)
	r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(HeaderTimestamp, strconv.FormatInt(testNow.Unix(), 10))
	sig := slackfake.Sign(testSecret, testNow, body)
	if sigCase != nil {
		sig = sigCase(sig)
	}
	r.Header.Set(HeaderSignature, sig)
	return r
}

// Issue 12, attack 4: a correctly signed click from another workspace, app
// or Enterprise Grid organisation does not vote.
func TestForeignOriginRefused(t *testing.T) {
	cases := map[string]func(map[string]any){
		"other workspace":  func(p map[string]any) { p["team"] = map[string]any{"id": "T0EVIL0001", "domain": "evil"} },
		"no workspace":     func(p map[string]any) { delete(p, "team") },
		"other app":        func(p map[string]any) { p["api_app_id"] = "A0EVIL0001" },
		"other enterprise": func(p map[string]any) { p["enterprise"] = map[string]any{"id": "E0EVIL0001"} },
	}
	for name, mut := range cases {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t)
			env.handler.proc.origin.EnterpriseID = "E0OURS0001"
			p := approvePayload()
			p["enterprise"] = map[string]any{"id": "E0OURS0001"}
			mut(p)
			w := env.serve(signedClick(t, p, nil))
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "another workspace or app") {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			env.handler.Processor().Wait()
			if n := len(env.decider.calls); n != 0 {
				t.Fatalf("Decide called %d times", n)
			}
		})
	}
	t.Run("ours", func(t *testing.T) {
		env := newTestEnv(t)
		if w := env.serve(signedClick(t, approvePayload(), nil)); w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if !env.decider.waitCalls(1, 5*time.Second) {
			t.Fatal("Decide not called")
		}
	})
	t.Run("socket mode path", func(t *testing.T) {
		p, _ := NewProcessor(ProcessorOptions{Decider: newRecDecider(), TeamID: "T0OURS", AppID: "A0OURS"})
		cb, err := ParseInteraction("", slackfake.InteractionBody(approvePayload()))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ProcessInteraction(t.Context(), cb); err == nil || !strings.Contains(err.Error(), "team.id") {
			t.Fatalf("want a team refusal, got %v", err)
		}
	})
}

// Issue 12, attack 4: the same signed request with the hex signature in
// upper case is a replay.
func TestReplayCaseInsensitiveSignature(t *testing.T) {
	env := newTestEnv(t)
	p := approvePayload() // one payload: the same signed request twice
	if w := env.serve(signedClick(t, p, nil)); w.Code != http.StatusOK {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	upper := func(s string) string { return "v0=" + strings.ToUpper(strings.TrimPrefix(s, "v0=")) }
	w := env.serve(signedClick(t, p, upper))
	if w.Code != http.StatusConflict {
		t.Fatalf("upper-case replay: %d %s", w.Code, w.Body)
	}
	env.handler.Processor().Wait()
	if n := len(env.decider.calls); n != 1 {
		t.Fatalf("Decide called %d times, want 1", n)
	}
}
