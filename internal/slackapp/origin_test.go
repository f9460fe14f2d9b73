package slackapp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// auditLog captures the handler's log (the audit records).
type auditLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (a *auditLog) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.b.Write(p)
}

// refusals returns the audit records of refused interactions.
func (a *auditLog) refusals() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, l := range strings.Split(a.b.String(), "\n") {
		if strings.Contains(l, `msg="audit: slack interaction refused"`) {
			out = append(out, l)
		}
	}
	return out
}

// refusedOnce checks that exactly n refusals are audited so far, the last
// one at warning level naming why (want), never the signing secret.
func (a *auditLog) refusedOnce(t *testing.T, n int, want string) {
	t.Helper()
	recs := a.refusals()
	if len(recs) != n {
		t.Fatalf("%d audit records of refused interactions, want %d: %q", len(recs), n, recs)
	}
	last := recs[n-1]
	if !strings.Contains(last, "level=WARN") || !strings.Contains(last, want) || strings.Contains(last, testSecret) {
		t.Errorf("audit record %q: want a warning naming %q, without the secret", last, want)
	}
}

func (e *testEnv) audit() *auditLog {
	a := &auditLog{}
	e.handler.proc.logger = slog.New(slog.NewTextHandler(a, nil))
	return a
}

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
	cases := map[string]struct {
		mut    func(map[string]any)
		refuse string // what the audit record says
	}{
		"other workspace":  {func(p map[string]any) { p["team"] = map[string]any{"id": "T0EVIL0001", "domain": "evil"} }, `team.id \"T0EVIL0001\"`},
		"no workspace":     {func(p map[string]any) { delete(p, "team") }, `team.id \"\"`},
		"other app":        {func(p map[string]any) { p["api_app_id"] = "A0EVIL0001" }, `api_app_id \"A0EVIL0001\"`},
		"other enterprise": {func(p map[string]any) { p["enterprise"] = map[string]any{"id": "E0EVIL0001"} }, `enterprise.id \"E0EVIL0001\"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t)
			audit := env.audit()
			env.handler.proc.origin.EnterpriseID = "E0OURS0001"
			p := approvePayload()
			p["enterprise"] = map[string]any{"id": "E0OURS0001"}
			c.mut(p)
			w := env.serve(signedClick(t, p, nil))
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "another workspace or app") {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			env.handler.Processor().Wait()
			if n := len(env.decider.calls); n != 0 {
				t.Fatalf("Decide called %d times", n)
			}
			audit.refusedOnce(t, 1, c.refuse)
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
		audit := &auditLog{}
		p, _ := NewProcessor(ProcessorOptions{Decider: newRecDecider(), TeamID: "T0OURS", AppID: "A0OURS", Logger: slog.New(slog.NewTextHandler(audit, nil))})
		cb, err := ParseInteraction("", slackfake.InteractionBody(approvePayload()))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ProcessInteraction(t.Context(), cb); err == nil || !strings.Contains(err.Error(), "team.id") {
			t.Fatalf("want a team refusal, got %v", err)
		}
		audit.refusedOnce(t, 1, "team.id")
	})
}

// Issue 12, attack 4: the same signed request with the hex signature in
// upper case is a replay.
func TestReplayCaseInsensitiveSignature(t *testing.T) {
	env := newTestEnv(t)
	audit := env.audit()
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
	audit.refusedOnce(t, 1, "replayed signed request")
}

// Issue 12: a click with a forged, malformed or stale signature is refused
// before it is parsed, and each refusal is audited with its reason.
func TestBadSignatureRefusedAndAudited(t *testing.T) {
	env := newTestEnv(t)
	audit := env.audit()
	forged := func(s string) string { return "v0=" + strings.Repeat("0", len(strings.TrimPrefix(s, "v0="))) }
	cases := []struct {
		name   string
		req    func() *http.Request
		refuse string
	}{
		{"forged HMAC", func() *http.Request { return signedClick(t, approvePayload(), forged) }, "signature: signature mismatch"},
		{"not hex", func() *http.Request { return signedClick(t, approvePayload(), func(string) string { return "v0=zz" }) }, "not a hex SHA-256 MAC"},
		{"no signature", func() *http.Request {
			r := signedClick(t, approvePayload(), nil)
			r.Header.Del(HeaderSignature)
			return r
		}, "signature: missing"},
		{"stale", func() *http.Request {
			body := slackfake.InteractionBody(approvePayload())
			old := testNow.Add(-SignatureWindow - time.Minute)
			r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(body)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set(HeaderTimestamp, strconv.FormatInt(old.Unix(), 10))
			r.Header.Set(HeaderSignature, slackfake.Sign(testSecret, old, body))
			return r
		}, "more than"},
	}
	for i, c := range cases {
		if w := env.serve(c.req()); w.Code != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s", c.name, w.Code, w.Body)
		}
		audit.refusedOnce(t, i+1, c.refuse)
	}
	env.handler.Processor().Wait()
	if n := len(env.decider.calls); n != 0 {
		t.Fatalf("Decide called %d times", n)
	}
}

// A processor not told its workspace and app (SLACK_TEAM_ID, SLACK_APP_ID)
// refuses every click, even one whose payload names no workspace or app
// either and whose clicker's user.team_id is the organisation the payload
// names: a signing secret alone does not say where a click came from.
func TestUnconfiguredOriginRefusesEverything(t *testing.T) {
	for name, opts := range map[string]ProcessorOptions{
		"neither": {},
		"no app":  {TeamID: slackfake.TeamID},
		"no team": {AppID: slackfake.AppID},
	} {
		t.Run(name, func(t *testing.T) {
			dec := newRecDecider()
			opts.Decider = dec
			p, err := NewProcessor(opts)
			if err != nil {
				t.Fatal(err)
			}
			click := approvePayload()
			click["api_app_id"] = opts.AppID
			click["team"] = map[string]any{"id": opts.TeamID}
			click["enterprise"] = map[string]any{"id": "E0ORG00001"}
			click["user"] = map[string]any{"id": "U024BE7LH", "team_id": "E0ORG00001"}
			payload, err := ParseInteraction("", slackfake.InteractionBody(click))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.CheckOrigin(payload); !errors.Is(err, ErrForeignOrigin) || !strings.Contains(err.Error(), "not configured") {
				t.Errorf("CheckOrigin = %v, want the foreign-origin refusal naming the missing configuration", err)
			}
			if err := p.ProcessInteraction(context.Background(), payload); err == nil || len(dec.Calls()) != 0 {
				t.Errorf("ProcessInteraction = %v with %d decisions, want a refusal and none", err, len(dec.Calls()))
			}
		})
	}
}
