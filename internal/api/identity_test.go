package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/auth"
)

// identityServer is a test server with a token store holding tokens for
// U0SOCLEAD1 (approve), U0DETECTOR (intake), U0VOUCH (intake+vouch),
// U0READER (read) and a revoked one; it returns them by name.
func identityServer(t *testing.T, st *fakeStarter) (*Server, map[string]string, *bytes.Buffer) {
	t.Helper()
	srv := newTestServer(t, st)
	store := auth.NewStore(filepath.Join(t.TempDir(), "tokens.json"))
	toks := map[string]string{}
	for name, spec := range map[string]struct{ user, scopes string }{
		"approver": {"U0SOCLEAD1", "approve,operate"}, "intake": {"U0DETECTOR", "intake"},
		"vouch": {"U0FRONTEND", "intake,vouch"}, "reader": {"U0READER", "read"}, "revoked": {"U0GONE", "approve"},
	} {
		scopes, err := auth.ParseScopes(spec.scopes)
		if err != nil {
			t.Fatal(err)
		}
		tok, rec, err := store.Create(spec.user, scopes, name, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		toks[name] = tok
		if name == "revoked" {
			if _, err := store.Revoke(rec.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv.Tokens = store
	srv.Approvals = &approvals.Service{} // refusals happen before any call to Temporal
	logs := &bytes.Buffer{}
	srv.Logger = slog.New(slog.NewTextHandler(logs, nil))
	return srv, toks, logs
}

func TestAPITokenScopesAndIdentity(t *testing.T) {
	srv, toks, logs := identityServer(t, &fakeStarter{})
	h := srv.Handler()
	approve := `{"step":"isolate","decision":"approve","user":"%s"}`
	cases := []struct {
		name, method, path, token, body string
		status                          int
		detail                          string
	}{
		{"intake token cannot approve", "POST", "/v1/runs/w1/approvals", toks["intake"], `{"step":"isolate","decision":"approve"}`, 403, `needs the "approve" scope`},
		{"intake token cannot read", "GET", "/v1/runs", toks["intake"], "", 403, `needs the "read" scope`},
		{"read token cannot approve", "POST", "/v1/runs/w1/approvals", toks["reader"], `{"step":"isolate","decision":"approve"}`, 403, `needs the "approve" scope`},
		{"read token cannot roll back", "POST", "/v1/runs/w1/rollback", toks["reader"], `{}`, 403, `needs the "operate" scope`},
		{"read token cannot switch safe mode", "POST", "/v1/policy/safe-mode", toks["reader"], `{"enabled":false}`, 403, `needs the "operate" scope`},
		{"approve token cannot reload", "POST", "/v1/playbooks/reload", toks["approver"], ``, 403, `needs the "admin" scope`},
		{"revoked token", "POST", "/v1/runs/w1/approvals", toks["revoked"], `{"step":"isolate","decision":"approve"}`, 401, "token revoked"},
		{"unknown personal token", "POST", "/v1/runs/w1/approvals", toks["approver"] + "0", `{"step":"isolate","decision":"approve"}`, 401, "missing or wrong API token"},
		{"another person's name", "POST", "/v1/runs/w1/approvals", toks["approver"], strings.Replace(approve, "%s", "U0INFRA001", 1), 403, `user "U0INFRA001" is not the authenticated identity "U0SOCLEAD1"`},
		{"another person's rollback", "POST", "/v1/runs/w1/rollback", toks["approver"], `{"user":"U0INFRA001"}`, 403, "is not the authenticated identity"},
		{"another person's extension", "POST", "/v1/runs/w1/extend", toks["approver"], `{"step":"block","by":"4h","user":"U0INFRA001"}`, 403, "is not the authenticated identity"},
		{"another person's safe mode", "POST", "/v1/policy/safe-mode", toks["approver"], `{"enabled":false,"user":"U0INFRA001"}`, 403, "is not the authenticated identity"},
		{"intake token vouching without scope", "POST", "/v1/detections", toks["intake"], det("v-1", 5, ""), 403, `needs the "vouch" scope`},
		{"read token cannot post detections", "POST", "/v1/detections", toks["reader"], det("v-2", 5, ""), 403, `needs the "intake" scope`},
		{"approve token cannot post detections", "POST", "/v1/detections", toks["approver"], det("v-3", 5, ""), 403, `needs the "intake" scope`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			r.Header.Set("Authorization", "Bearer "+tc.token)
			if strings.Contains(tc.name, "vouching") {
				r.Header.Set("X-Riposte-Requester", "U0SOMEONEELSE")
			}
			got := serve(h, r)
			var pr struct{ Detail string }
			_ = json.Unmarshal([]byte(got.body), &pr)
			if got.code != tc.status || !strings.Contains(pr.Detail, tc.detail) || !strings.Contains(got.header.Get("Content-Type"), "problem+json") {
				t.Fatalf("status %d, body %s; want %d with %q", got.code, got.body, tc.status, tc.detail)
			}
		})
	}
	// Every refusal is audited with the caller and why.
	if n := strings.Count(logs.String(), "audit: api call refused"); n != len(cases) {
		t.Errorf("%d refusals audited, want %d:\n%s", n, len(cases), logs)
	}
	if !strings.Contains(logs.String(), "principal=token:") || !strings.Contains(logs.String(), "refusal=") {
		t.Errorf("audit records lack principal or refusal:\n%s", logs)
	}
}

// The submitter recorded for four-eyes is the intake token's identity; a
// token with the vouch scope may name another.
func TestAPISubmitterIsTheTokenIdentity(t *testing.T) {
	for _, tc := range []struct{ token, header, want string }{
		{"intake", "", "U0DETECTOR"},
		{"vouch", "", "U0FRONTEND"},
		{"vouch", "U0ANALYST1", "U0ANALYST1"},
	} {
		st := &fakeStarter{}
		srv, toks, _ := identityServer(t, st)
		r := post("/v1/detections", "Bearer "+toks[tc.token], det("sub-1", 5, ""))
		if tc.header != "" {
			r.Header.Set("X-Riposte-Requester", tc.header)
		}
		if got := serve(srv.Handler(), r); got.code != 202 {
			t.Fatalf("%s: status %d: %s", tc.token, got.code, got.body)
		}
		if s := st.Starts(); len(s) != 1 || s[0].Input.Requester != tc.want {
			t.Errorf("%s/%q: requester %q, want %q", tc.token, tc.header, s[0].Input.Requester, tc.want)
		}
	}
}

// Issue 12, point 5: wrong-token floods from one address do not exhaust the
// buckets of Slack, the codec or a caller with a valid token.
func TestAPIRateLimitClasses(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	srv.RateLimit = RateLimit{PerSecond: 1, Burst: 5}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	srv.Public = map[string]http.Handler{"POST /slack/interactions": ok, "/codec/": ok}
	h := srv.Handler()
	for i := 0; i < 260; i++ {
		serve(h, post("/v1/detections", "Bearer wrong-"+string(rune('a'+i%26)), "{}"))
	}
	if got := serve(h, post("/v1/detections", "Bearer wrong", "{}")); got.code != 429 {
		t.Fatalf("the flood itself is not limited: %d", got.code)
	}
	for name, r := range map[string]*http.Request{
		"slack":       post("/slack/interactions", "", "payload=x"),
		"codec":       post("/codec/decode", "", "{}"),
		"valid token": httptest.NewRequest("GET", "/v1/runs/x", nil),
	} {
		if name == "valid token" {
			r.Header.Set("Authorization", "Bearer "+toks["reader"])
		}
		if got := serve(h, r); got.code == 429 {
			t.Errorf("%s blocked by the wrong-token flood: %d %s", name, got.code, got.body)
		}
	}
}

// A flood of forged OIDC bearers is limited before any is verified: each
// refused one costs no signature check and no fetch of the provider's keys
// (go-oidc fetches them again for a key id it does not know).
func TestAPIRateLimitBeforeOIDCVerification(t *testing.T) {
	var fetches atomic.Int32
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/keys" {
			fetches.Add(1)
			_, _ = w.Write([]byte(`{"keys":[]}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer idp.Close()
	mapping := filepath.Join(t.TempDir(), "oidc.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[{"sub":"x","slack":"U0X","scopes":["read"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewOIDCVerifier(context.Background(), auth.OIDCOptions{Issuer: idp.URL, Audience: "riposte-api",
		JWKSURL: idp.URL + "/keys", MappingFile: mapping, HTTPClient: idp.Client()})
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, &fakeStarter{})
	srv.OIDC = v
	srv.RateLimit = RateLimit{PerSecond: 1, Burst: 1}
	h := srv.Handler()
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	forged := enc(map[string]any{"alg": "RS256", "kid": "guess", "typ": "JWT"}) + "." +
		enc(map[string]any{"iss": idp.URL, "aud": "riposte-api", "sub": "x", "exp": time.Now().Add(time.Hour).Unix()}) + "." +
		base64.RawURLEncoding.EncodeToString([]byte("not a signature"))
	limited := 0
	for range 20 {
		r := httptest.NewRequest("GET", "/v1/runs", nil)
		r.Header.Set("Authorization", "Bearer "+forged)
		got := serve(h, r)
		switch got.code {
		case http.StatusTooManyRequests:
			limited++
		case http.StatusUnauthorized:
		default:
			t.Fatalf("forged bearer: %d %s", got.code, got.body)
		}
	}
	if limited == 0 {
		t.Fatal("the flood was never rate limited")
	}
	if n := fetches.Load(); n > int32(20-limited) {
		t.Errorf("%d of 20 forged bearers were refused 429, yet the provider's keys were fetched %d times", limited, n)
	}
	// A personal token from the same address is not in the OIDC class.
	if got := serve(h, post("/v1/detections", "Bearer "+testToken, "{}")); got.code == 429 {
		t.Errorf("the dev token is blocked by the OIDC flood: %d", got.code)
	}
}

// X-Riposte-Requester names the submitter four-eyes compares with the
// Slack user ids of the people who decide: one that is not a Slack user id
// (an email, a name) can never equal the clicking person's id, so that
// person could approve what they submitted. The 400 always said "must be a
// Slack user id"; it is now enforced.
func TestAPIVouchedRequesterMustBeASlackUserID(t *testing.T) {
	for _, h := range []string{"alice@example.com", "alice", "U0ANALYST1 extra", "S0SOCONCALL"} {
		st := &fakeStarter{}
		srv, toks, _ := identityServer(t, st)
		r := post("/v1/detections", "Bearer "+toks["vouch"], det("sub-x", 5, ""))
		r.Header.Set("X-Riposte-Requester", h)
		got := serve(srv.Handler(), r)
		if got.code != http.StatusBadRequest || !strings.Contains(got.body, "Slack user id") || len(st.Starts()) != 0 {
			t.Errorf("X-Riposte-Requester %q: status %d (%s), %d runs; want 400 naming a Slack user id, no run", h, got.code, got.body, len(st.Starts()))
		}
	}
}
