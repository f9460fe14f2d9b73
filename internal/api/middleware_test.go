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
