package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

const testSecret = "8f742231b10e8888abcd99yyyzzz85a5"

var testNow = time.Unix(1767326125, 0)

type decideCall struct {
	WorkflowID string
	Decision   workflows.Decision
}

// recDecider records decisions; it fails with err when set, and when
// release is set it blocks until release is closed.
type recDecider struct {
	mu      sync.Mutex
	calls   []decideCall
	err     error
	release chan struct{}
	started chan struct{} // receives once per call, if set
}

func newRecDecider() *recDecider { return &recDecider{} }

func (d *recDecider) Decide(ctx context.Context, workflowID string, dec workflows.Decision) (workflows.DecisionResult, error) {
	if d.started != nil {
		d.started <- struct{}{}
	}
	if d.release != nil {
		select {
		case <-d.release:
		case <-ctx.Done():
			return workflows.DecisionResult{}, ctx.Err()
		}
	}
	d.mu.Lock()
	d.calls = append(d.calls, decideCall{workflowID, dec})
	err := d.err
	d.mu.Unlock()
	if err != nil {
		return workflows.DecisionResult{}, err
	}
	return workflows.DecisionResult{State: workflows.GateApproved, Approvals: 1, Quorum: 1}, nil
}

// waitCalls waits until Decide has returned n times.
func (d *recDecider) waitCalls(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for len(d.Calls()) < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func (d *recDecider) Calls() []decideCall {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]decideCall(nil), d.calls...)
}

type testEnv struct {
	fake    *slackfake.Server
	poster  *Poster
	decider *recDecider
	handler *Handler
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	cfg := Config{BotToken: slackfake.BotToken, SigningSecret: testSecret, APIURL: fake.URL(), ApprovalChannel: "C0RIPOSTE1"}
	poster, err := NewPoster(cfg, PosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dec := newRecDecider()
	h, err := NewHandler(HandlerOptions{
		ProcessorOptions: ProcessorOptions{TeamID: slackfake.TeamID, AppID: slackfake.AppID, Decider: dec, Poster: poster, Now: func() time.Time { return testNow }, DecideTimeout: 5 * time.Second},
		SigningSecret:    testSecret,
		MaxBody:          64 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return &testEnv{fake: fake, poster: poster, decider: dec, handler: h}
}

func (e *testEnv) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

func approvePayload() map[string]any {
	return slackfake.BlockActionPayload("U024BE7LH", "det-7f3a9c-ransomware-response", "isolate", ActionApprove, "C0RIPOSTE1", "1767323045.000100")
}

func TestSignature(t *testing.T) {
	body := slackfake.InteractionBody(approvePayload())
	ts := strconv.FormatInt(testNow.Unix(), 10)
	sign := func(secret string, at time.Time) string { return slackfake.Sign(secret, at, body) }
	tests := []struct {
		name   string
		header map[string]string // nil value: delete
		body   []byte
		status int
	}{
		{name: "valid", status: http.StatusOK},
		{name: "forged with another secret", header: map[string]string{HeaderSignature: sign("not-the-secret", testNow)}, status: http.StatusUnauthorized},
		{name: "timestamp six minutes old", header: map[string]string{
			HeaderTimestamp: strconv.FormatInt(testNow.Add(-6*time.Minute).Unix(), 10),
			HeaderSignature: sign(testSecret, testNow.Add(-6*time.Minute))}, status: http.StatusUnauthorized},
		{name: "timestamp six minutes ahead", header: map[string]string{
			HeaderTimestamp: strconv.FormatInt(testNow.Add(6*time.Minute).Unix(), 10),
			HeaderSignature: sign(testSecret, testNow.Add(6*time.Minute))}, status: http.StatusUnauthorized},
		{name: "timestamp changed after signing", header: map[string]string{HeaderTimestamp: strconv.FormatInt(testNow.Unix()-1, 10)}, status: http.StatusUnauthorized},
		{name: "body changed after signing", body: []byte(strings.Replace(string(body), "riposte_approve", "riposte_deny", 1)), status: http.StatusUnauthorized},
		{name: "missing signature", header: map[string]string{HeaderSignature: ""}, status: http.StatusUnauthorized},
		{name: "missing timestamp", header: map[string]string{HeaderTimestamp: ""}, status: http.StatusUnauthorized},
		{name: "not a v0 signature", header: map[string]string{HeaderSignature: "v1=" + strings.TrimPrefix(sign(testSecret, testNow), "v0=")}, status: http.StatusUnauthorized},
		{name: "signature not hex", header: map[string]string{HeaderSignature: "v0=zz"}, status: http.StatusUnauthorized},
		{name: "signature truncated", header: map[string]string{HeaderSignature: sign(testSecret, testNow)[:40]}, status: http.StatusUnauthorized},
		{name: "timestamp not a number", header: map[string]string{HeaderTimestamp: "yesterday"}, status: http.StatusUnauthorized},
		{name: "body too large", body: append([]byte("payload="), make([]byte, 70<<10)...), status: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			b := body
			if tt.body != nil {
				b = tt.body
			}
			r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(b)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set(HeaderTimestamp, ts)
			r.Header.Set(HeaderSignature, sign(testSecret, testNow))
			for k, v := range tt.header {
				if v == "" {
					r.Header.Del(k)
				} else {
					r.Header.Set(k, v)
				}
			}
			w := env.serve(r)
			env.handler.Processor().Wait()
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			calls := env.decider.Calls()
			if tt.status == http.StatusOK {
				if len(calls) != 1 {
					t.Fatalf("Decide called %d times, want 1", len(calls))
				}
				return
			}
			if len(calls) != 0 {
				t.Errorf("Decide called on a refused request: %+v", calls)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q, want problem JSON", ct)
			}
			if len(env.fake.Calls()) != 0 {
				t.Errorf("Slack was called on a refused request: %+v", env.fake.Calls())
			}
		})
	}
}

func TestReplayRefused(t *testing.T) {
	env := newTestEnv(t)
	body := slackfake.InteractionBody(approvePayload())
	if w := env.serve(slackfake.SignedRequest(testSecret, body, testNow)); w.Code != http.StatusOK {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	// The same bytes and headers again: a captured request replayed.
	if w := env.serve(slackfake.SignedRequest(testSecret, body, testNow)); w.Code != http.StatusConflict {
		t.Fatalf("replay: status %d, want 409: %s", w.Code, w.Body)
	}
	// Another click (new trigger id, so another signature) still works.
	if w := env.serve(slackfake.SignedInteraction(testSecret, approvePayload(), testNow)); w.Code != http.StatusOK {
		t.Fatalf("another request: %d %s", w.Code, w.Body)
	}
	env.handler.Processor().Wait()
	if n := len(env.decider.Calls()); n != 2 {
		t.Errorf("Decide called %d times, want 2 (the replay must not count)", n)
	}
}

func TestReplayCacheBounded(t *testing.T) {
	c := newReplayCache(3)
	exp := testNow.Add(time.Minute)
	for i := 0; i < 10; i++ {
		if !c.add(strconv.Itoa(i), exp, testNow) {
			t.Fatalf("key %d refused", i)
		}
		if c.len() > 3 {
			t.Fatalf("cache holds %d entries, max 3", c.len())
		}
	}
	if c.add("9", exp, testNow) {
		t.Error("recent key accepted twice")
	}
	// Expired entries are forgotten.
	later := exp.Add(time.Second)
	if !c.add("9", later.Add(time.Minute), later) {
		t.Error("expired key still refused")
	}
	if c.len() != 1 {
		t.Errorf("expired entries kept: %d", c.len())
	}
}

// TestReplayCacheFullStillRefusesWhatItHolds: at its bound (a burst of
// interactions filled it) the cache makes room for a new key by forgetting
// the oldest one; asking about a key it holds needs no room. Asking about
// its oldest key forgot that key first and then counted it as new, and
// put it last: resends arriving in the order of their first deliveries, as
// Slack's retries do, were each handled again though still remembered
// (and so was a replay of the oldest signed request).
func TestReplayCacheFullStillRefusesWhatItHolds(t *testing.T) {
	c := newReplayCache(3)
	exp := testNow.Add(time.Minute)
	for _, k := range []string{"a", "b", "c"} {
		if !c.add(k, exp, testNow) {
			t.Fatalf("key %s refused", k)
		}
	}
	for _, k := range []string{"a", "b", "c", "a"} {
		if c.add(k, exp, testNow) {
			t.Errorf("full cache: %s, which it holds, counted as new", k)
		}
	}
	if c.len() != 3 {
		t.Errorf("cache holds %d entries after repeats only, want 3", c.len())
	}
	// A new key makes room by forgetting the oldest.
	if !c.add("d", exp, testNow) {
		t.Fatal("new key refused")
	}
	for _, k := range []string{"d", "b", "c"} {
		if c.add(k, exp, testNow) {
			t.Errorf("after the new key d: %s, which the cache holds, counted as new", k)
		}
	}
	if c.len() != 3 {
		t.Errorf("cache holds %d entries, want 3", c.len())
	}
}

func TestMethodAndMalformed(t *testing.T) {
	env := newTestEnv(t)
	w := env.serve(httptest.NewRequest(http.MethodGet, "/slack/interactions", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
	for name, body := range map[string]string{
		"no payload":    "foo=bar",
		"payload junk":  "payload=%7Bnot+json",
		"no type":       "payload=%7B%7D",
		"bad form":      "payload=%zz",
		"payload array": "payload=%5B1%2C2%5D",
	} {
		w := env.serve(slackfake.SignedRequest(testSecret, []byte(body), testNow))
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", name, w.Code, w.Body)
		}
	}
	// A valid payload Riposte does not handle is acknowledged and ignored.
	other := slackfake.BlockActionPayload("U024BE7LH", "wf", "g", "someone_elses_button", "C1", "1.1")
	if w := env.serve(slackfake.SignedInteraction(testSecret, other, testNow)); w.Code != http.StatusOK {
		t.Errorf("foreign action: %d", w.Code)
	}
	env.handler.Processor().Wait()
	if n := len(env.decider.Calls()); n != 0 {
		t.Errorf("Decide called %d times", n)
	}
}

func TestApproveDeny(t *testing.T) {
	tests := []struct {
		action  string
		approve bool
	}{
		{ActionApprove, true},
		{ActionDeny, false},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			env := newTestEnv(t)
			p := slackfake.BlockActionPayload("U0G9QF9C6", "det-7f3a9c-ransomware-response", "isolate", tt.action, "C0RIPOSTE1", "1767323045.000100")
			w := env.serve(slackfake.SignedInteraction(testSecret, p, testNow))
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("status %d body %q, want an empty 200", w.Code, w.Body)
			}
			env.handler.Processor().Wait()
			calls := env.decider.Calls()
			if len(calls) != 1 {
				t.Fatalf("Decide called %d times", len(calls))
			}
			want := decideCall{WorkflowID: "det-7f3a9c-ransomware-response", Decision: workflows.Decision{
				GateID: "isolate", Approve: tt.approve, User: "U0G9QF9C6", Via: workflows.ViaSlack,
				MessageTS: "1767323045.000100", At: testNow.UTC(), Credential: "slack:T0FAKE0001",
				// The click's identity: who, its trigger_id, the button and its action_ts.
				Interaction: slackInteractionID("T0FAKE0001:U0G9QF9C6:" + p["trigger_id"].(string) + ":" + tt.action + "@" + p["actions"].([]any)[0].(map[string]any)["action_ts"].(string)),
			}}
			if calls[0] != want {
				t.Errorf("Decide(%+v), want %+v", calls[0], want)
			}
			// Only users.info (who clicked); nothing posted.
			for _, c := range env.fake.Calls() {
				if c.Method != "users.info" {
					t.Errorf("handler called Slack's %s on success; the workflow updates the message", c.Method)
				}
			}
		})
	}
}

func TestRefusalPostsEphemeral(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plain error", errors.New("you cannot approve your own request"), "Your approval was not recorded: you cannot approve your own request"},
		{"application error", temporal.NewApplicationError("the gate is already closed", "GateClosed"), "Your approval was not recorded: the gate is already closed"},
		{"timeout", context.DeadlineExceeded, "Your approval was not recorded: Riposte did not get an answer in time"},
		{"markup in refusal", errors.New("user <@U1> & <!here> not allowed"), "user &lt;@U1&gt; &amp; &lt;!here&gt; not allowed"},
		{"approvals service refusal", fmt.Errorf("%w: U024BE7LH is not an approver for step isolate", approvals.ErrRefused), "Your approval was not recorded: U024BE7LH is not an approver for step isolate"},
		{"run gone", fmt.Errorf("%w: wf", approvals.ErrNotFound), "Your approval was not recorded: this run no longer exists."},
		{"queued as a signal", approvals.ErrQueued, "your approval was queued"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.decider.err = tt.err
			w := env.serve(slackfake.SignedInteraction(testSecret, approvePayload(), testNow))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			env.handler.Processor().Wait()
			eph := env.fake.Ephemerals()
			if len(eph) != 1 {
				t.Fatalf("%d ephemerals, want 1 (calls: %+v)", len(eph), env.fake.Calls())
			}
			p := eph[0].Params
			if p["channel"] != "C0RIPOSTE1" || p["user"] != "U024BE7LH" {
				t.Errorf("ephemeral to %s/%s", p["channel"], p["user"])
			}
			if !strings.Contains(p["text"], tt.want) {
				t.Errorf("ephemeral text %q lacks %q", p["text"], tt.want)
			}
			if strings.Contains(p["text"], "(type:") {
				t.Errorf("ephemeral leaks error internals: %q", p["text"])
			}
		})
	}
}

func TestApproveWithReason(t *testing.T) {
	for _, approve := range []bool{true, false} {
		action := ActionApproveReason
		if !approve {
			action = ActionDenyReason
		}
		t.Run(action, func(t *testing.T) {
			env := newTestEnv(t)
			click := slackfake.BlockActionPayload("U0G9QF9C6", "det-7f3a9c-ransomware-response", "isolate", action, "C0RIPOSTE1", "1767323045.000100")
			if w := env.serve(slackfake.SignedInteraction(testSecret, click, testNow)); w.Code != http.StatusOK {
				t.Fatalf("click: %d", w.Code)
			}
			env.handler.Processor().Wait()
			if n := len(env.decider.Calls()); n != 0 {
				t.Fatalf("Decide called on the click; it must wait for the reason")
			}
			views := env.fake.ViewsOpened()
			if len(views) != 1 {
				t.Fatalf("views.open called %d times", len(views))
			}
			if views[0].Params["trigger_id"] != click["trigger_id"] {
				t.Errorf("views.open trigger_id %q, want the click's %q", views[0].Params["trigger_id"], click["trigger_id"])
			}
			view := views[0].View
			if view["type"] != "modal" || view["callback_id"] != ReasonModalCallbackID {
				t.Fatalf("view = %v", view)
			}
			meta, _ := view["private_metadata"].(string)
			ref, err := ParseGateRef(meta)
			if err != nil {
				t.Fatal(err)
			}
			wantRef := GateRef{WorkflowID: "det-7f3a9c-ransomware-response", GateID: "isolate", MessageTS: "1767323045.000100", Channel: "C0RIPOSTE1", Approve: approve}
			if ref != wantRef {
				t.Errorf("private_metadata %+v, want %+v", ref, wantRef)
			}
			js, _ := json.Marshal(view["blocks"])
			if !strings.Contains(string(js), `"block_id":"`+ReasonBlockID+`"`) || !strings.Contains(string(js), `"action_id":"`+ReasonActionID+`"`) {
				t.Errorf("modal lacks the reason input: %s", js)
			}

			// An empty reason keeps the modal open with an error.
			empty := slackfake.ViewSubmissionPayload("U0G9QF9C6", ReasonModalCallbackID, meta,
				map[string]map[string]string{ReasonBlockID: {ReasonActionID: "   "}})
			w := env.serve(slackfake.SignedInteraction(testSecret, empty, testNow))
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"response_action":"errors"`) || !strings.Contains(w.Body.String(), ReasonBlockID) {
				t.Fatalf("empty reason: %d %s", w.Code, w.Body)
			}

			submit := slackfake.ViewSubmissionPayload("U0G9QF9C6", ReasonModalCallbackID, meta,
				map[string]map[string]string{ReasonBlockID: {ReasonActionID: "  Owner confirmed the laptop is lost.  "}})
			w = env.serve(slackfake.SignedInteraction(testSecret, submit, testNow))
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("submit: %d %q (an empty 200 closes the modal)", w.Code, w.Body)
			}
			env.handler.Processor().Wait()
			calls := env.decider.Calls()
			if len(calls) != 1 {
				t.Fatalf("Decide called %d times", len(calls))
			}
			want := decideCall{WorkflowID: "det-7f3a9c-ransomware-response", Decision: workflows.Decision{
				GateID: "isolate", Approve: approve, User: "U0G9QF9C6", Reason: "Owner confirmed the laptop is lost.",
				Via: workflows.ViaSlack, MessageTS: "1767323045.000100", At: testNow.UTC(), Credential: "slack:T0FAKE0001",
				// The form's identity: who, its trigger_id, the view's id and hash.
				Interaction: slackInteractionID("T0FAKE0001:U0G9QF9C6:" + submit["trigger_id"].(string) + ":submit@V0FAKEVIEW1@1767326125.fakehash"),
			}}
			if calls[0] != want {
				t.Errorf("Decide(%+v), want %+v", calls[0], want)
			}
		})
	}
}

func TestAckBeforeSlowDecide(t *testing.T) {
	env := newTestEnv(t)
	env.decider.release = make(chan struct{})
	env.decider.started = make(chan struct{}, 1)
	start := time.Now()
	w := env.serve(slackfake.SignedInteraction(testSecret, approvePayload(), testNow))
	elapsed := time.Since(start)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if elapsed > time.Second {
		t.Errorf("handler took %s; Slack needs an answer within 3s", elapsed)
	}
	select {
	case <-env.decider.started:
	case <-time.After(5 * time.Second):
		t.Fatal("Decide never started")
	}
	if n := len(env.decider.Calls()); n != 0 {
		t.Fatalf("Decide finished before it was released")
	}
	close(env.decider.release)
	env.handler.Processor().Wait()
	if n := len(env.decider.Calls()); n != 1 {
		t.Fatalf("Decide finished %d times", n)
	}
}

func TestBusy(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	dec := newRecDecider()
	dec.release = make(chan struct{})
	h, err := NewHandler(HandlerOptions{
		ProcessorOptions: ProcessorOptions{TeamID: slackfake.TeamID, AppID: slackfake.AppID, Decider: dec, Now: func() time.Time { return testNow }, MaxConcurrent: 1},
		SigningSecret:    testSecret,
		QueueWait:        50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	serve := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, slackfake.SignedInteraction(testSecret, approvePayload(), testNow))
		return w.Code
	}
	if c := serve(); c != http.StatusOK {
		t.Fatalf("first: %d", c)
	}
	if c := serve(); c != http.StatusServiceUnavailable {
		t.Fatalf("second while the only slot is busy: %d, want 503", c)
	}
	close(dec.release)
	h.Processor().Wait()
}

func TestNewHandlerNeedsSecretAndDecider(t *testing.T) {
	if _, err := NewHandler(HandlerOptions{ProcessorOptions: ProcessorOptions{Decider: newRecDecider()}}); err == nil || !strings.Contains(err.Error(), EnvSigningSecret) {
		t.Errorf("no secret: %v", err)
	}
	if _, err := NewHandler(HandlerOptions{SigningSecret: "s"}); err == nil {
		t.Error("no decider accepted")
	}
}

func TestVerifySignatureMatchesFake(t *testing.T) {
	body := []byte("payload=%7B%7D")
	h := http.Header{}
	h.Set(HeaderTimestamp, strconv.FormatInt(testNow.Unix(), 10))
	h.Set(HeaderSignature, slackfake.Sign(testSecret, testNow, body))
	if _, err := VerifySignature([]byte(testSecret), h, body, testNow); err != nil {
		t.Fatal(err)
	}
	if got, want := Sign([]byte(testSecret), testNow, body), slackfake.Sign(testSecret, testNow, body); got != want {
		t.Errorf("Sign = %s, fake = %s", got, want)
	}
	// Slack's documented example.
	ex := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
	exTS := time.Unix(1531420618, 0)
	if got := Sign([]byte("8f742231b10e8888abcd99yyyzzz85a5"), exTS, ex); got != "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503" {
		t.Errorf("Slack's example signs as %s", got)
	}
}

func TestButtonValueMatchesFake(t *testing.T) {
	ref := GateRef{WorkflowID: "wf-1", GateID: "gate", MessageTS: "1.2"}
	if got, want := ref.Encode(), slackfake.ButtonValue("wf-1", "gate", "1.2"); got != want {
		t.Errorf("Encode = %s, fake = %s", got, want)
	}
}

// Slack sends an interaction as a form with one "payload" field
// (testdata/README.md). A body naming payload twice is ambiguous: Riposte
// read the first while anything in front of it (a proxy, a WAF, a log
// reader) may read the last, so one signed body could be an Approve here
// and a Deny there. It is refused 400 naming the field, and nothing is
// decided; the same goes for a "Payload" spelt in another case, which a
// case-insensitive form reader would take for it.
func TestInteractionWithTwoPayloadsRefused(t *testing.T) {
	approve, _ := json.Marshal(approvePayload())
	deny := strings.Replace(string(approve), ActionApprove, ActionDeny, 1)
	for name, body := range map[string]string{
		"payload twice":        "payload=" + url.QueryEscape(string(approve)) + "&payload=" + url.QueryEscape(deny),
		"payload twice, empty": "payload=&payload=" + url.QueryEscape(string(approve)),
		"payload and Payload":  "payload=" + url.QueryEscape(string(approve)) + "&Payload=" + url.QueryEscape(deny),
		"payload and PAYLOAD":  "PAYLOAD=" + url.QueryEscape(deny) + "&payload=" + url.QueryEscape(string(approve)),
	} {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t)
			w := env.serve(slackfake.SignedRequest(testSecret, []byte(body), testNow))
			env.handler.Processor().Wait()
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "payload") {
				t.Errorf("status %d, want 400 naming the payload field: %s", w.Code, w.Body)
			}
			if n := len(env.decider.Calls()); n != 0 {
				t.Errorf("Decide called %d times on an ambiguous body", n)
			}
		})
	}
	// One payload (and Slack's form as it sends it) is still accepted.
	env := newTestEnv(t)
	if w := env.serve(slackfake.SignedRequest(testSecret, []byte("payload="+url.QueryEscape(string(approve))), testNow)); w.Code != http.StatusOK {
		t.Fatalf("one payload: status %d: %s", w.Code, w.Body)
	}
}

// The payload field as Slack's form encoding allows it to be spelt, and
// where it may be put beside the body Slack signs: a name percent-encoded
// (pay%6Coad) is the name, so two of them are refused as two; a payload in
// the query string is not signed by Slack and is never read (the signed
// body decides); a multipart body is refused naming its content type; a
// field beside the one payload does not refuse what Slack sends.
func TestInteractionPayloadSpellingsAndPlaces(t *testing.T) {
	approve, _ := json.Marshal(approvePayload())
	deny := strings.Replace(string(approve), ActionApprove, ActionDeny, 1)
	decided := func(t *testing.T, env *testEnv, want int, approve bool) {
		t.Helper()
		env.handler.Processor().Wait()
		calls := env.decider.Calls()
		if len(calls) != want {
			t.Fatalf("Decide called %d times, want %d", len(calls), want)
		}
		if want == 1 && calls[0].Decision.Approve != approve {
			t.Errorf("decided %+v, want approve=%v", calls[0].Decision, approve)
		}
	}

	t.Run("percent-encoded name", func(t *testing.T) {
		env := newTestEnv(t)
		body := "pay%6Coad=" + url.QueryEscape(deny) + "&payload=" + url.QueryEscape(string(approve))
		w := env.serve(slackfake.SignedRequest(testSecret, []byte(body), testNow))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "payload field is given 2 times") {
			t.Errorf("status %d, want 400 naming the payload field given twice: %s", w.Code, w.Body)
		}
		decided(t, env, 0, false)
	})
	t.Run("query string", func(t *testing.T) {
		env := newTestEnv(t)
		r := slackfake.SignedRequest(testSecret, []byte("payload="+url.QueryEscape(string(approve))), testNow)
		r.URL.RawQuery = "payload=" + url.QueryEscape(deny)
		if w := env.serve(r); w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		decided(t, env, 1, true)
	})
	t.Run("multipart", func(t *testing.T) {
		env := newTestEnv(t)
		body := "--b\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n" + string(approve) + "\r\n--b--\r\n"
		r := slackfake.SignedRequest(testSecret, []byte(body), testNow)
		r.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		w := env.serve(r)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "multipart/form-data") {
			t.Errorf("status %d, want 400 naming the content type: %s", w.Code, w.Body)
		}
		decided(t, env, 0, false)
	})
	t.Run("a field beside", func(t *testing.T) {
		env := newTestEnv(t)
		body := "payload=" + url.QueryEscape(string(approve)) + "&payload_version=2"
		if w := env.serve(slackfake.SignedRequest(testSecret, []byte(body), testNow)); w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		decided(t, env, 1, true)
	})
}
