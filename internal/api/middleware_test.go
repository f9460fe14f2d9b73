package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/codec"
)

func TestLimiterRefills(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(RateLimit{PerSecond: 2, Burst: 3})
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := l.allow("k"); !ok {
			t.Fatalf("request %d refused within burst", i)
		}
	}
	ok, wait := l.allow("k")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("4th request: ok=%v wait=%s", ok, wait)
	}
	if ok, _ := l.allow("other"); !ok {
		t.Error("another key shares the bucket")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.allow("k"); !ok {
		t.Error("bucket did not refill")
	}
}

func TestRateLimitedAnswers429(t *testing.T) {
	s := &Server{RateLimit: RateLimit{PerSecond: 1, Burst: 1}}
	h := s.rateLimited(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	req := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/detections", nil)
		r.Header.Set("Authorization", "Bearer t")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := req(); w.Code != 204 {
		t.Fatalf("first: %d", w.Code)
	}
	w := req()
	if w.Code != 429 || w.Header().Get("Retry-After") == "" || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("second: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if clientKey(httptest.NewRequest("GET", "/", nil)) == "" {
		t.Error("empty client key")
	}
}

// Every API call but /healthz writes one "audit: api call" record (info
// level) with what was asked, the answer and who asked; refusals are
// checked in TestAPITokenScopesAndIdentity. Tokens and bodies are never
// logged.
func TestAuditRecordsEveryCall(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	var logs bytes.Buffer
	srv.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	h := srv.Handler()
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		// principal is the caller's identity in the record ("" = none).
		principal string
	}{
		{"read", "GET", "/v1/playbooks", toks["reader"], "", 200, "(U0READER)"},
		{"intake", "POST", "/v1/detections", toks["intake"], det("audit-uid-1", 5, ""), 202, "(U0DETECTOR)"},
		{"bad input", "POST", "/v1/detections", toks["intake"], `{"class_uid":2004}`, 400, "(U0DETECTOR)"},
		{"unknown path", "GET", "/v1/nowhere", toks["reader"], "", 404, ""},
		{"health check", "GET", "/healthz", "", "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if got := serve(h, r); got.code != tc.status {
				t.Fatalf("status %d, want %d: %s", got.code, tc.status, got.body)
			}
			var records []map[string]any
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var rec map[string]any
				if line == "" || json.Unmarshal([]byte(line), &rec) != nil || !strings.HasPrefix(fmt.Sprint(rec["msg"]), "audit: api call") {
					continue
				}
				records = append(records, rec)
			}
			if tc.path == "/healthz" {
				if len(records) != 0 {
					t.Errorf("/healthz audited: %v", records)
				}
				return
			}
			if len(records) != 1 {
				t.Fatalf("%d audit records, want 1:\n%s", len(records), logs.String())
			}
			rec := records[0]
			principal := fmt.Sprint(rec["principal"])
			if rec["msg"] != "audit: api call" || rec["level"] != "INFO" || rec["method"] != tc.method || rec["path"] != tc.path ||
				rec["status"] != float64(tc.status) || rec["client"] == "" || rec["duration_ms"] == nil || rec["bytes_out"] == nil ||
				(tc.principal == "" && principal != "") || (tc.principal != "" && !(strings.HasPrefix(principal, "token:") && strings.HasSuffix(principal, tc.principal))) {
				t.Errorf("audit record %v; want %s %s %d by %q at INFO", rec, tc.method, tc.path, tc.status, tc.principal)
			}
			if rec["bytes_in"] != float64(len(tc.body)) {
				t.Errorf("bytes_in %v, want %d", rec["bytes_in"], len(tc.body))
			}
			if strings.Contains(logs.String(), tc.token) {
				t.Errorf("the log holds the token:\n%s", logs.String())
			}
			if strings.Contains(fmt.Sprint(rec), "audit-uid-1") {
				t.Errorf("the audit record holds the body: %v", rec)
			}
		})
	}
}

// README (The UI's codec calls): the codec session secret, the path
// segment before the operation, is never logged: the audit log shows
// /codec/…/decode.
func TestAuditPathHidesCodecSession(t *testing.T) {
	for in, want := range map[string]string{
		"/codec/s-0123abcd/decode": "/codec/…/decode",
		"/codec/s-0123abcd/encode": "/codec/…/encode",
		"/codec/decode":            "/codec/decode", // the token route: no secret in it
		"/codec/encode":            "/codec/encode",
		"/v1/runs/w1":              "/v1/runs/w1",
		"/slack/interactions":      "/slack/interactions",
		"/codec/":                  "/codec/",
	} {
		if got := LogPath(in); got != want {
			t.Errorf("LogPath(%q) = %q, want %q", in, got, want)
		}
	}
	// The secret without an operation, not right before it, or in a path
	// the mux redirects to the codec's: hidden all the same.
	for _, in := range []string{
		"/codec/s-0123abcd",
		"/codec/ns/s-0123abcd/decode",
		"/codec//s-0123abcd/decode",
		"//codec/s-0123abcd/decode",
		"/v1/../codec/s-0123abcd/decode",
	} {
		if got := LogPath(in); strings.Contains(got, "s-0123abcd") || !strings.HasPrefix(got, "/codec/…") {
			t.Errorf("LogPath(%q) = %q: the secret is not hidden", in, got)
		}
	}
}

// A panic in the codec route is logged without the session secret too.
func TestPanicLogHidesCodecSession(t *testing.T) {
	const session = "s-5ec7e75ec7e75ec7e75ec7e7"
	srv := newTestServer(t, &fakeStarter{})
	var logs logBuffer
	srv.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	srv.Public = map[string]http.Handler{"/codec/": http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })}
	if got := serve(srv.Handler(), post("/codec/"+session+"/decode", "", "{}")); got.code != http.StatusInternalServerError {
		t.Fatalf("status %d: %s", got.code, got.body)
	}
	if !strings.Contains(logs.String(), "panic in API handler") || strings.Contains(logs.String(), session) {
		t.Errorf("want the panic logged without the session secret:\n%s", logs.String())
	}
}

// One request of the dev UI through the API's middleware, with the codec
// mounted as riposte dev mounts it: accepted or refused, its audit record
// shows the path without the session secret.
func TestAuditRecordOfCodecCallHidesSession(t *testing.T) {
	keys, err := codec.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	session := "s-" + strings.Repeat("5ec7e7", 10)
	guess := "s-" + strings.Repeat("9e55", 10)
	srv := newTestServer(t, &fakeStarter{})
	var logs bytes.Buffer
	srv.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	srv.Public = map[string]http.Handler{"/codec/": codec.LoopbackHostOnly(codec.Handler(keys, codec.HandlerOptions{
		Prefix: "/codec", Authorize: codec.DevAuthorizer(testToken, session)}))}
	h := srv.Handler()
	for _, tc := range []struct {
		secret string
		status int
		msg    string
	}{
		{session, http.StatusOK, "audit: api call"},
		{guess, http.StatusUnauthorized, "audit: api call refused"},
	} {
		logs.Reset()
		r := httptest.NewRequest("POST", "http://127.0.0.1:8080/codec/"+tc.secret+"/decode", strings.NewReader(`{"payloads":[]}`))
		r.RemoteAddr = "127.0.0.1:50123"
		r.Header.Set("Content-Type", "application/json")
		if got := serve(h, r); got.code != tc.status {
			t.Fatalf("status %d, want %d: %s", got.code, tc.status, got.body)
		}
		var rec map[string]any
		if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
			t.Fatalf("want one JSON record: %v\n%s", err, logs.String())
		}
		if rec["msg"] != tc.msg || rec["path"] != "/codec/…/decode" || rec["status"] != float64(tc.status) {
			t.Errorf("record %v; want %q with path /codec/…/decode and status %d", rec, tc.msg, tc.status)
		}
		if strings.Contains(logs.String(), tc.secret) {
			t.Errorf("the log holds the session secret:\n%s", logs.String())
		}
	}
}
