package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/auth/authtest"
	"github.com/riposte-dev/riposte/internal/identity"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// testIDP is an identity provider for the API: discovery and a JWKS served
// from httptest (fetches of the JWKS counted), and ES256 signing keys by kid.
// publish adds a key to the JWKS (a key rotation at the IdP).
type testIDP struct {
	srv     *httptest.Server
	fetches atomic.Int32
	tries   atomic.Int32 // requests for the JWKS, answered or not
	down    atomic.Bool  // every request answers 503
	mu      sync.Mutex
	keys    map[string]*ecdsa.PrivateKey
	jwks    jose.JSONWebKeySet
}

func newTestIDP(t *testing.T) *testIDP {
	t.Helper()
	p := &testIDP{keys: map[string]*ecdsa.PrivateKey{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/keys" {
			p.tries.Add(1)
		}
		if p.down.Load() {
			http.Error(w, "upstream down", http.StatusServiceUnavailable)
			return
		}
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/keys"})
		case "/keys":
			p.fetches.Add(1)
			p.mu.Lock()
			defer p.mu.Unlock()
			_ = json.NewEncoder(w).Encode(p.jwks)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	p.publish(t, p.newKey(t, "ec-1"))
	return p
}

// newKey makes a signing key the JWKS does not publish (yet).
func (p *testIDP) newKey(t *testing.T, kid string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys[kid] = k
	return kid
}

func (p *testIDP) publish(t *testing.T, kid string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jwks.Keys = append(p.jwks.Keys, jose.JSONWebKey{Key: &p.keys[kid].PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"})
}

// token is a JWT for sub signed with kid's key, valid for an hour, for the
// audience riposte-api.
func (p *testIDP) token(t *testing.T, kid, sub string) string {
	t.Helper()
	p.mu.Lock()
	key := p.keys[kid]
	p.mu.Unlock()
	now := time.Now()
	return authtest.Sign(t, key, kid, jose.ES256, map[string]any{"iss": p.srv.URL, "aud": "riposte-api", "sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
}

// oidcServer is identityServer with OIDC configured as riposte serve does
// (RIPOSTE_OIDC_* read by auth.OIDCOptionsFromEnv, the JWKS discovered from
// the issuer) and this mapping:
//
//	00u1alice → U0SOCLEAD1 [read, approve]
//	00u3carol → U0CAROL001 [intake, approve]
func oidcServer(t *testing.T, st *fakeStarter, idp *testIDP) *Server {
	t.Helper()
	mapping := filepath.Join(t.TempDir(), "oidc-users.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[
  {"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read","approve"]},
  {"sub":"00u3carol","slack":"U0CAROL001","scopes":["intake","approve"]}
]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(auth.EnvOIDCIssuer, idp.srv.URL)
	t.Setenv(auth.EnvOIDCAudience, "riposte-api")
	t.Setenv(auth.EnvOIDCMapping, mapping)
	t.Setenv(auth.EnvOIDCJWKSURL, "")
	t.Setenv(auth.EnvOIDCAlgs, "")
	o, ok := auth.OIDCOptionsFromEnv()
	if !ok {
		t.Fatal("OIDC not configured from the environment")
	}
	v, err := auth.NewOIDCVerifier(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	srv, _, _ := identityServer(t, st)
	srv.OIDC = v
	return srv
}

// fourEyesClient answers the decide Update as the run's gate does for
// four-eyes: a vote by the run's submitter (compared as identities) is
// refused with the gate's reason, any other is taken. Decisions are kept.
type fourEyesClient struct {
	client.Client // nil: only UpdateWorkflow is used
	submitter     func() string
	mu            sync.Mutex
	decisions     []workflows.Decision
}

func (c *fourEyesClient) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	d, ok := o.Args[0].(workflows.Decision)
	if !ok || o.UpdateName != workflows.UpdateDecide {
		return nil, errors.New("fake: not a decision")
	}
	c.mu.Lock()
	c.decisions = append(c.decisions, d)
	c.mu.Unlock()
	return fourEyesHandle{d: d, submitter: c.submitter()}, nil
}

type fourEyesHandle struct {
	client.WorkflowUpdateHandle // nil: only Get is used
	d                           workflows.Decision
	submitter                   string
}

func (h fourEyesHandle) Get(_ context.Context, v any) error {
	if identity.Equal(h.d.User, h.submitter) {
		return temporal.NewApplicationError(h.d.User+" requested this action and cannot approve it; another approver must decide", "")
	}
	*v.(*workflows.DecisionResult) = workflows.DecisionResult{State: workflows.GateApproved, Approvals: 1, Quorum: 1}
	return nil
}

// README (OIDC bearer tokens): an accepted IdP token acts exactly like a
// personal token bound to the mapped Slack user: its scopes apply (a
// missing one is 403 naming it), a body user other than that person is
// refused, and four-eyes compares the mapped identity (the submitter of a
// detection it posts cannot approve the run); an unmapped subject is 401.
func TestAPIOIDCBearerActsAsMappedUser(t *testing.T) {
	idp := newTestIDP(t)
	st := &fakeStarter{}
	srv := oidcServer(t, st, idp)
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	c := &fourEyesClient{submitter: func() string {
		if s := st.Starts(); len(s) > 0 {
			return s[len(s)-1].Input.Requester
		}
		return ""
	}}
	srv.Temporal = c
	srv.Approvals = &approvals.Service{Client: c, Namespace: "default", Keys: keys, UpdateTimeout: time.Minute}
	h := srv.Handler()
	alice, carol := "Bearer "+idp.token(t, "ec-1", "00u1alice"), "Bearer "+idp.token(t, "ec-1", "00u3carol")
	decide := `{"step":"isolate","decision":"approve"}`

	// Carol (intake) submits a detection: she is its submitter.
	if got := serve(h, post("/v1/detections", carol, det("oidc-1", 5, ""))); got.code != http.StatusAccepted {
		t.Fatalf("detection with an OIDC bearer: %d %s", got.code, got.body)
	}
	if s := st.Starts(); len(s) != 1 || s[0].Input.Requester != "U0CAROL001" {
		var by []string
		for _, x := range s {
			by = append(by, x.Input.Requester)
		}
		t.Fatalf("runs started by %q, want one submitted by U0CAROL001 (the mapped identity)", by)
	}

	for _, tc := range []struct {
		name, method, path, bearer, body string
		status                           int
		detail                           string
	}{
		{"read scope", "GET", "/v1/playbooks", alice, "", 200, ""},
		{"no operate scope", "POST", "/v1/runs/w1/rollback", alice, `{}`, 403, `needs the "operate" scope`},
		{"no intake scope", "POST", "/v1/detections", alice, det("oidc-2", 5, ""), 403, `needs the "intake" scope`},
		{"no read scope", "GET", "/v1/playbooks", carol, "", 403, `needs the "read" scope`},
		{"body user of another person", "POST", "/v1/runs/w1/approvals", alice, `{"step":"isolate","decision":"approve","user":"U0CAROL001"}`,
			403, `user "U0CAROL001" is not the authenticated identity "U0SOCLEAD1"`},
		{"four-eyes: the submitter approves", "POST", "/v1/runs/w1/approvals", carol, decide, 409, "U0CAROL001 requested this action and cannot approve it"},
		{"another approver, body user spelled differently", "POST", "/v1/runs/w1/approvals", alice,
			`{"step":"isolate","decision":"approve","user":"u0soclead1\u200b"}`, 200, ""},
		{"unmapped subject", "GET", "/v1/playbooks", "Bearer " + idp.token(t, "ec-1", "00u9mallory"), "", 401, "not in the OIDC mapping file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			r.Header.Set("Authorization", tc.bearer)
			got := serve(h, r)
			var pr struct{ Detail string }
			_ = json.Unmarshal([]byte(got.body), &pr)
			if got.code != tc.status || !strings.Contains(pr.Detail, tc.detail) {
				t.Fatalf("status %d, body %s; want %d with %q", got.code, got.body, tc.status, tc.detail)
			}
			if tc.status == 401 && got.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// The votes reached the run under the mapped identities, sealed.
	if len(c.decisions) != 2 {
		t.Fatalf("%d decisions reached the run, want 2 (the refused body user sends none): %+v", len(c.decisions), c.decisions)
	}
	for i, want := range []string{"U0CAROL001", "U0SOCLEAD1"} {
		d := c.decisions[i]
		if d.User != want || d.Via != workflows.ViaAPI || keys.Verify(workflows.DecisionClaim("w1", d), d.Seal) != nil {
			t.Errorf("decision %d = %+v; want one sealed for %s via api", i, d, want)
		}
	}
}

// README: a token is accepted only with a signature by a key of the JWKS;
// an unknown kid makes one re-fetch of the JWKS, then fails (or, when the
// IdP published the key meanwhile, passes), unless the JWKS was fetched
// less than auth.OIDCMinRefetch before. Known keys cost no fetch.
func TestAPIOIDCUnknownKidRefetchesOnce(t *testing.T) {
	idp := newTestIDP(t)
	mapping := filepath.Join(t.TempDir(), "oidc-users.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[{"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read","approve"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	v, err := auth.NewOIDCVerifier(context.Background(), auth.OIDCOptions{Issuer: idp.srv.URL, Audience: "riposte-api",
		JWKSURL: idp.srv.URL + "/keys", MappingFile: mapping, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv, _, _ := identityServer(t, &fakeStarter{})
	srv.OIDC = v
	h := srv.Handler()
	step := func(what, bearer string, status int, fetches int32) {
		t.Helper()
		r := httptest.NewRequest("GET", "/v1/playbooks", nil)
		r.Header.Set("Authorization", "Bearer "+bearer)
		got := serve(h, r)
		if got.code != status || (status == 401 && !strings.Contains(got.body, "OIDC token refused: failed to verify signature")) {
			t.Errorf("%s: status %d (%s), want %d", what, got.code, got.body, status)
		}
		if n := idp.fetches.Load(); n != fetches {
			t.Errorf("%s: the JWKS was fetched %d times in all, want %d", what, n, fetches)
		}
	}
	step("first token (keys not loaded yet)", idp.token(t, "ec-1", "00u1alice"), 200, 1)
	step("known kid", idp.token(t, "ec-1", "00u1alice"), 200, 1)
	rotated := idp.newKey(t, "ec-2")
	step("unknown kid just after a fetch", idp.token(t, rotated, "00u1alice"), 401, 1)
	advance(auth.OIDCMinRefetch)
	step("unknown kid", idp.token(t, rotated, "00u1alice"), 401, 2)
	step("unknown kid again", idp.token(t, rotated, "00u1alice"), 401, 2)
	step("known kid after the refusal", idp.token(t, "ec-1", "00u1alice"), 200, 2)
	idp.publish(t, rotated)
	advance(auth.OIDCMinRefetch)
	step("kid the IdP published since", idp.token(t, rotated, "00u1alice"), 200, 3)
	step("rotated kid again", idp.token(t, rotated, "00u1alice"), 200, 3)
}

// When the IdP's JWKS cannot be fetched (the IdP is down or answers 5xx),
// Riposte cannot check any OIDC token: that is the server's problem, not
// the caller's, so it answers 503 with Retry-After, as it does when its own
// token store is unreadable, not a 401 that tells a valid caller their
// credentials are wrong (clients and scripts drop or rotate credentials
// on a 401 instead of retrying).
func TestAPIOIDCKeysUnavailableIs503(t *testing.T) {
	idp := newTestIDP(t)
	h := oidcServer(t, &fakeStarter{}, idp).Handler()
	tok := idp.token(t, "ec-1", "00u1alice")
	idp.down.Store(true)
	r := httptest.NewRequest("GET", "/v1/playbooks", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	got := serve(h, r)
	if got.code != http.StatusServiceUnavailable || got.header.Get("Retry-After") == "" || !strings.Contains(got.body, "identity provider") {
		t.Fatalf("JWKS unreachable: status %d (Retry-After %q) %s; want 503 saying the identity provider's keys could not be fetched", got.code, got.header.Get("Retry-After"), got.body)
	}
	// Back up: the same token passes, and an unmapped subject is still 401.
	// The IdP is asked again auth.OIDCFailedRefetch after the failed
	// fetch (not on every request while it fails): a request then passes.
	idp.down.Store(false)
	deadline := time.Now().Add(auth.OIDCFailedRefetch + 5*time.Second)
	for {
		r = httptest.NewRequest("GET", "/v1/playbooks", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		got := serve(h, r)
		if got.code == http.StatusOK {
			break
		}
		if got.code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("JWKS back: status %d %s, want 200", got.code, got.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r = httptest.NewRequest("GET", "/v1/playbooks", nil)
	r.Header.Set("Authorization", "Bearer "+idp.token(t, "ec-1", "00u9mallory"))
	if got := serve(h, r); got.code != http.StatusUnauthorized {
		t.Fatalf("unmapped subject: status %d %s, want 401", got.code, got.body)
	}
}

// unpublish removes a key from the JWKS (the IdP retired or revoked it).
func (p *testIDP) unpublish(kid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := p.jwks.Keys[:0]
	for _, k := range p.jwks.Keys {
		if k.KeyID != kid {
			keys = append(keys, k)
		}
	}
	p.jwks.Keys = keys
}

// A key the IdP removed from its JWKS (rotated out, or revoked after a
// compromise) stops being trusted once the cached JWKS is older than
// auth.OIDCKeyCacheTTL: go-oidc alone keeps every key it ever fetched for
// the life of the process, re-fetching only for an unknown kid, so a
// revoked IdP key went on signing valid Riposte tokens (approvals
// included) until a restart. While the IdP cannot be reached the keys
// last fetched are kept (an IdP outage does not lock everyone out).
func TestAPIOIDCRemovedKeyStopsBeingTrusted(t *testing.T) {
	idp := newTestIDP(t)
	mapping := filepath.Join(t.TempDir(), "oidc-users.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[{"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read","approve"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	v, err := auth.NewOIDCVerifier(context.Background(), auth.OIDCOptions{Issuer: idp.srv.URL, Audience: "riposte-api",
		JWKSURL: idp.srv.URL + "/keys", MappingFile: mapping, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv, _, _ := identityServer(t, &fakeStarter{})
	srv.OIDC = v
	h := srv.Handler()
	get := func(what, tok string, want int) {
		t.Helper()
		r := httptest.NewRequest("GET", "/v1/playbooks", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		if got := serve(h, r); got.code != want {
			t.Errorf("%s: status %d (%s), want %d", what, got.code, strings.TrimSpace(got.body), want)
		}
	}
	old := idp.token(t, "ec-1", "00u1alice")
	get("token signed with the published key", old, 200)
	// The IdP rotates: ec-2 published, ec-1 withdrawn.
	idp.publish(t, idp.newKey(t, "ec-2"))
	idp.unpublish("ec-1")
	advance(auth.OIDCKeyCacheTTL + time.Second)
	get("token signed with the withdrawn key, after the key cache's TTL", idp.token(t, "ec-1", "00u1alice"), 401)
	get("token signed with the new key", idp.token(t, "ec-2", "00u1alice"), 200)
	// The IdP goes down: the keys last fetched still verify.
	idp.down.Store(true)
	advance(auth.OIDCKeyCacheTTL + time.Second)
	get("new key while the IdP is down", idp.token(t, "ec-2", "00u1alice"), 200)
	// An unknown kid needs a fetch that fails: the token cannot be checked.
	get("withdrawn key while the IdP is down", idp.token(t, "ec-1", "00u1alice"), 503)
}

// The OIDC mapping file is read again when it changes: a person taken out
// of it is refused from the next request (401), and a file broken by an
// edit is the server's problem (503, as an unreadable token file), never
// a 401 telling valid callers their credentials are wrong.
func TestAPIOIDCMappingEditTakesEffect(t *testing.T) {
	idp := newTestIDP(t)
	mapping := filepath.Join(t.TempDir(), "oidc-users.json")
	write := func(body string, at time.Time) {
		t.Helper()
		if err := os.WriteFile(mapping, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(mapping, at, at); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Now().Add(-time.Hour)
	write(`{"users":[{"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read","approve"]}]}`, at)
	v, err := auth.NewOIDCVerifier(context.Background(), auth.OIDCOptions{Issuer: idp.srv.URL, Audience: "riposte-api",
		JWKSURL: idp.srv.URL + "/keys", MappingFile: mapping})
	if err != nil {
		t.Fatal(err)
	}
	srv, _, _ := identityServer(t, &fakeStarter{})
	srv.OIDC = v
	h := srv.Handler()
	get := func(what string, want int) {
		t.Helper()
		r := httptest.NewRequest("GET", "/v1/playbooks", nil)
		r.Header.Set("Authorization", "Bearer "+idp.token(t, "ec-1", "00u1alice"))
		if got := serve(h, r); got.code != want {
			t.Errorf("%s: status %d (%s), want %d", what, got.code, strings.TrimSpace(got.body), want)
		}
	}
	get("mapped", 200)
	write(`{"users":[{"sub":"00u2bob","slack":"U0INFRA001","scopes":["read"]}]}`, at.Add(time.Minute))
	get("taken out of the mapping file", 401)
	write(`{"users":[`, at.Add(2*time.Minute))
	get("mapping file broken by an edit", 503)
	write(`{"users":[{"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read"]}]}`, at.Add(3*time.Minute))
	get("mended", 200)
}
