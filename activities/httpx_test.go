package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
)

func TestHeaderDelay(t *testing.T) {
	now := time.Date(2025, 11, 18, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, header, value string
		want                time.Duration
		ok                  bool
	}{
		{"retry-after seconds", "Retry-After", "17", 17 * time.Second, true},
		{"retry-after date", "Retry-After", now.Add(42 * time.Second).Format(http.TimeFormat), 42 * time.Second, true},
		{"crowdstrike epoch", "X-RateLimit-RetryAfter", fmt.Sprint(now.Add(9 * time.Second).Unix()), 9 * time.Second, true},
		{"okta epoch", "X-Rate-Limit-Reset", fmt.Sprint(now.Add(61 * time.Second).Unix()), 61 * time.Second, true},
		{"jira iso", "X-RateLimit-Reset", now.Add(5 * time.Second).Format(time.RFC3339), 5 * time.Second, true},
		{"garbage", "Retry-After", "soon", 0, false},
		{"none", "X-Other", "1", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(tt.header, tt.value)
			got, ok := headerDelay(h, now)
			if ok != tt.ok || got != tt.want {
				t.Errorf("headerDelay = %s, %v; want %s, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	h := http.Header{"Retry-After": {"86400"}}
	if d := retryDelay(h, now, 5*time.Minute); d != 5*time.Minute {
		t.Errorf("cap: %s", d)
	}
	h = http.Header{"X-Rate-Limit-Reset": {fmt.Sprint(now.Add(-time.Minute).Unix())}}
	if d := retryDelay(h, now, 5*time.Minute); d != time.Second {
		t.Errorf("past reset: %s", d)
	}
	if d := retryDelay(http.Header{}, now, 5*time.Minute); d != defaultRateLimitDelay {
		t.Errorf("default: %s", d)
	}
}

func TestToActivityErrorKeepsKindThroughWrapping(t *testing.T) {
	f := newFailure(kindRateLimited, "rate limited")
	f.delay = 12 * time.Second
	err := toActivityError(fmt.Errorf("isolating host x: %w", f), nil)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.NonRetryable() || ae.Type() != kindRateLimited || ae.NextRetryDelay() != 12*time.Second {
		t.Fatalf("got %#v", err)
	}
	if ae.Message() != "isolating host x: rate limited" {
		t.Errorf("message = %q", ae.Message())
	}
	err = toActivityError(fmt.Errorf("ctx: %w", newFailure(kindAuth, "token s3cr3t-value refused")), []string{"s3cr3t-value"})
	if !errors.As(err, &ae) || !ae.NonRetryable() || strings.Contains(ae.Error(), "s3cr3t") {
		t.Fatalf("got %v", err)
	}
	err = toActivityError(errors.New("boom"), nil)
	if !errors.As(err, &ae) || ae.NonRetryable() {
		t.Fatalf("unknown errors should stay retryable: %v", err)
	}
	if err := toActivityError(fmt.Errorf("x: %w", context.Canceled), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancellation must pass through: %v", err)
	}
}

func TestSafeRelativePath(t *testing.T) {
	for _, ok := range []string{"/api/v1/x", "api/v1/x", "/a/b%20c", "/a/..b/c", "/"} {
		if _, err := safeRelativePath(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://x", "HTTPS://x/y", "//x/y", "/a/../b", "..", "/a/%2e%2e/b", "/a/%2E./b", "/a?b", "/a#b", `/a\b`, "/a b", "/a\x00"} {
		if _, err := safeRelativePath(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestADFIsPlainText(t *testing.T) {
	doc := adfDoc("line one\r\nline two\n\n<b>*markup* [link](http://x)</b>\x07\n\n\n")
	b, _ := json.Marshal(doc)
	want := `{"content":[{"content":[{"text":"line one","type":"text"},{"type":"hardBreak"},{"text":"line two","type":"text"}],"type":"paragraph"},` +
		`{"content":[{"text":"\u003cb\u003e*markup* [link](http://x)\u003c/b\u003e","type":"text"}],"type":"paragraph"}],"type":"doc","version":1}`
	if string(b) != want {
		t.Errorf("adf =\n%s\nwant\n%s", b, want)
	}
	if b, _ := json.Marshal(adfDoc("")); !strings.Contains(string(b), `"content":[{"content":[],"type":"paragraph"}]`) {
		t.Errorf("empty adf = %s", b)
	}
}

func TestUIDMessage(t *testing.T) {
	m, err := uidMessage(true, "203.0.113.77", `a"<&tag`)
	if err != nil {
		t.Fatal(err)
	}
	want := `<uid-message><version>2.0</version><type>update</type><payload><register><entry ip="203.0.113.77" persistent="1"><tag><member>a&#34;&lt;&amp;tag</member></tag></entry></register></payload></uid-message>`
	if m != want {
		t.Errorf("got  %s\nwant %s", m, want)
	}
}

func TestSecretRefNeverPrintsLabValue(t *testing.T) {
	ref := SecretRef{Lab: "hunter2-literal"}
	c := Connection{Type: "okta", Secrets: map[string]SecretRef{"api_token": ref}}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("printed: %s", s)
		}
	}
	b, _ := json.Marshal(c)
	if strings.Contains(string(b), "hunter2") {
		t.Errorf("json: %s", b)
	}
}

// vendorServer is a one-off fake for answers the lab does not give.
func vendorServer(t *testing.T, h http.HandlerFunc) (*Env, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	env := NewEnv(nil)
	return env, srv.URL
}

func runHandler(t *testing.T, env *Env, action string, params map[string]any) (map[string]any, error) {
	t.Helper()
	for _, d := range Definitions() {
		if d.Name == action {
			return d.Run(context.Background(), env, Call{Action: action, Params: params, IdempotencyKey: "k", WorkflowID: "wf", StepID: "s"})
		}
	}
	t.Fatalf("no action %s", action)
	return nil, nil
}

func errType(err error) (string, bool) {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		return "", false
	}
	return ae.Type(), ae.NonRetryable()
}

func TestSentinelOneAffectedZeroIsAFailure(t *testing.T) {
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			fmt.Fprint(w, `{"data":[{"id":"1","computerName":"h1","networkStatus":"connected"}]}`)
			return
		}
		fmt.Fprint(w, `{"data":{"affected":0}}`)
	})
	env.Connections["sentinelone"] = Connection{Type: "sentinelone", BaseURL: url, Secrets: map[string]SecretRef{"api_token": {Lab: "t0ken"}}}
	_, err := runHandler(t, env, "sentinelone.disconnect_agent", map[string]any{"hostname": "h1"})
	if typ, nr := errType(err); typ != kindVendorError || !nr || !strings.Contains(err.Error(), "affected 0 agents") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefenderAlreadyInProgressIsSuccess(t *testing.T) {
	var posts int
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/token"):
			fmt.Fprint(w, `{"access_token":"at","expires_in":3600}`)
		case r.URL.Path == "/api/machines":
			fmt.Fprint(w, `{"value":[{"id":"m1","computerDnsName":"h1.corp"}]}`)
		case r.URL.Path == "/api/machineactions":
			fmt.Fprint(w, `{"value":[]}`)
		default:
			posts++
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"code":"ActiveRequestAlreadyExists","message":"Action is already in progress"}}`)
		}
	})
	env.Connections["defender"] = Connection{Type: "defender", BaseURL: url,
		Options: map[string]string{"client_id": "c", "token_url": url + "/token"}, Secrets: map[string]SecretRef{"client_secret": {Lab: "s3cret"}}}
	out, err := runHandler(t, env, "defender.isolate_machine", map[string]any{"hostname": "h1"})
	if err != nil || out["already"] != true || out["hostname"] != "h1.corp" || posts != 1 {
		t.Fatalf("out = %v, err = %v, posts = %d", out, err, posts)
	}
}

func TestPANOSErrorInside200(t *testing.T) {
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Header.Get("X-PAN-KEY") != "k3y-value" || r.Form.Get("key") != "" {
			t.Errorf("api key not sent in the X-PAN-KEY header only")
		}
		if r.Form.Get("type") == "op" {
			fmt.Fprint(w, `<response status="success"><result><count>0</count></result></response>`)
			return
		}
		fmt.Fprint(w, `<response status="error"><msg><line><uid-response><payload><register><entry ip="1.2.3.4" message="Failed to register: vsys3 not found"/></register></payload></uid-response></line></msg></response>`)
	})
	env.Connections["panos"] = Connection{Type: "panos", BaseURL: url, Secrets: map[string]SecretRef{"api_key": {Lab: "k3y-value"}}}
	_, err := runHandler(t, env, "panos.block_ip", map[string]any{"ip": "1.2.3.4"})
	if typ, nr := errType(toActivityError(err, nil)); typ != kindVendorError || !nr || !strings.Contains(err.Error(), "vsys3 not found") {
		t.Fatalf("err = %v", err)
	}
}

func TestCrowdStrikeErrorsInside202(t *testing.T) {
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth2/token":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"access_token":"at","expires_in":1799}`)
		case "/devices/queries/devices/v1":
			fmt.Fprint(w, `{"resources":["a1"],"errors":[]}`)
		case "/devices/entities/devices/v2":
			fmt.Fprint(w, `{"resources":[{"device_id":"a1","hostname":"h1","status":"normal"}],"errors":[]}`)
		default:
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"resources":[],"errors":[{"code":409,"message":"Device is in a state that does not allow containment"}]}`)
		}
	})
	env.Connections["crowdstrike"] = Connection{Type: "crowdstrike", BaseURL: url,
		Options: map[string]string{"client_id": "c"}, Secrets: map[string]SecretRef{"client_secret": {Lab: "s3cret"}}}
	_, err := runHandler(t, env, "crowdstrike.contain_host", map[string]any{"hostname": "h1"})
	if !strings.Contains(err.Error(), "does not allow containment") {
		t.Fatalf("err = %v", err)
	}
}

func TestTransportFailuresAreRetryable(t *testing.T) {
	// Timeout: the vendor does not answer within CallTimeout.
	block := make(chan struct{})
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) { <-block })
	defer close(block)
	env.CallTimeout = 100 * time.Millisecond
	env.Connections["virustotal"] = Connection{Type: "virustotal", BaseURL: url, Secrets: map[string]SecretRef{"api_key": {Lab: "k"}}}
	_, err := runHandler(t, env, "virustotal.ip_report", map[string]any{"ip": "8.8.8.8"})
	err = toActivityError(err, nil)
	if typ, nr := errType(err); typ != kindNetwork || nr || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("timeout: %v", err)
	}
	// Connection refused.
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	env.Connections["virustotal"] = Connection{Type: "virustotal", BaseURL: dead, Secrets: map[string]SecretRef{"api_key": {Lab: "k"}}}
	_, err = runHandler(t, env, "virustotal.ip_report", map[string]any{"ip": "8.8.8.8"})
	if typ, nr := errType(toActivityError(err, nil)); typ != kindNetwork || nr {
		t.Fatalf("refused: %v", err)
	}
}

func TestNoCrossOriginRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("redirect followed to another origin, with key header %q", r.Header.Get("x-apikey"))
	}))
	defer other.Close()
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	})
	env.Connections["virustotal"] = Connection{Type: "virustotal", BaseURL: url, Secrets: map[string]SecretRef{"api_key": {Lab: "k3y"}}}
	if _, err := runHandler(t, env, "virustotal.ip_report", map[string]any{"ip": "8.8.8.8"}); err == nil {
		t.Fatal("a redirect to another origin should fail")
	}
}

func TestVendorEchoedSecretIsRedacted(t *testing.T) {
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"errorCode":"E0000001","errorSummary":"bad token %s"}`, strings.TrimPrefix(r.Header.Get("Authorization"), "SSWS "))
	})
	env.Connections["okta"] = Connection{Type: "okta", BaseURL: url, Secrets: map[string]SecretRef{"api_token": {Lab: "very-secret-token"}}}
	h := vendorRun("okta", "Okta", false, oktaClearSessions)
	_, err := h(context.Background(), env, Call{Action: "okta.clear_user_sessions", Params: map[string]any{"user": "u"}})
	if err == nil || strings.Contains(err.Error(), "very-secret-token") || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Fatalf("err = %v", err)
	}
}
