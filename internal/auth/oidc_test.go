package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/riposte-dev/riposte/internal/auth/authtest"
)

// idp is a test identity provider: it serves its JWKS (one RSA and one EC
// key) from httptest, and signs tokens.
type idp struct {
	srv    *httptest.Server
	rsaKey *rsa.PrivateKey
	ecKey  *ecdsa.PrivateKey
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{rsaKey: rk, ecKey: ek}
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &rk.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: &ek.PublicKey, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
	}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/keys"})
		case "/keys":
			_ = json.NewEncoder(w).Encode(jwks)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// sign makes a JWS over claims with key (kid) and alg.
func sign(t *testing.T, key any, kid string, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	return authtest.Sign(t, key, kid, alg, claims)
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestOIDCVerifier(t *testing.T) {
	p := newIDP(t)
	dir := t.TempDir()
	mapping := filepath.Join(dir, "oidc-users.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[
  {"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read","approve"]},
  {"email":"Ops@Example.com","slack":"U0INFRA001","scopes":["operate"]}
]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Discovery from the issuer (no JWKS URL given), as with a real IdP.
	v, err := NewOIDCVerifier(context.Background(), OIDCOptions{Issuer: p.srv.URL, Audience: "riposte-api", MappingFile: mapping, HTTPClient: p.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(extra map[string]any) map[string]any {
		c := map[string]any{"iss": p.srv.URL, "aud": "riposte-api", "sub": "00u1alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, x := range extra {
			if x == nil {
				delete(c, k)
			} else {
				c[k] = x
			}
		}
		return c
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)

	// Accepted: mapped subject (RS256) and verified mapped email (ES256).
	pr, err := v.Verify(context.Background(), sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(nil)))
	if err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	if pr.Identity != "U0SOCLEAD1" || pr.Kind != KindOIDC || !pr.Has(ScopeApprove) || pr.Has(ScopeOperate) || pr.TokenID != "oidc:00u1alice" {
		t.Errorf("principal = %+v", pr)
	}
	pr, err = v.Verify(context.Background(), sign(t, p.ecKey, "ec-1", jose.ES256, claims(map[string]any{"sub": "00u9ops", "email": "ops@example.com", "email_verified": true, "aud": []string{"other", "riposte-api"}})))
	if err != nil || pr.Identity != "U0INFRA001" || !pr.Has(ScopeOperate) || pr.Has(ScopeApprove) {
		t.Fatalf("verified email: %+v, %v", pr, err)
	}

	// The string "true", as some providers send it, verifies the email.
	pr, err = v.Verify(context.Background(), sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"sub": "00u9ops2", "email": "OPS@example.com", "email_verified": "true"})))
	if err != nil || pr.Identity != "U0INFRA001" {
		t.Fatalf(`email_verified "true": %+v, %v`, pr, err)
	}

	noneTok := b64(map[string]any{"alg": "none", "typ": "JWT", "kid": "rsa-1"}) + "." + b64(claims(nil)) + "."
	// HS256 keyed with the RSA public key (algorithm confusion).
	pubDER := p.rsaKey.PublicKey.N.Bytes()
	hsTok := sign(t, pubDER, "rsa-1", jose.HS256, claims(nil))
	for _, tt := range []struct{ name, tok, want string }{
		{"wrong issuer", sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"iss": "https://evil.example"})), "different provider"},
		{"wrong audience", sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"aud": "someone-else"})), "audience"},
		{"expired", sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"exp": now.Add(-time.Minute).Unix()})), "expired"},
		{"unknown kid", sign(t, other, "rsa-2", jose.RS256, claims(nil)), "signature"},
		{"known kid, other key", sign(t, other, "rsa-1", jose.RS256, claims(nil)), "signature"},
		{"alg none", noneTok, ""},
		{"HS256 with the public key", hsTok, ""},
		{"unmapped subject", sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"sub": "00u1mallory"})), "not in the OIDC mapping file"},
		{"unverified email", sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"sub": "00u1mallory", "email": "ops@example.com", "email_verified": false})), "not verified"},
		{"email without email_verified", sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"sub": "00u1mallory", "email": "ops@example.com"})), "not verified"},
		// email_verified as a string counts only when it says "true" (as
		// Apple sends it): "false", an empty string, "1" or a number do not.
		{"email_verified \"false\"", sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"sub": "00u1mallory", "email": "ops@example.com", "email_verified": "false"})), "not verified"},
		{"email_verified \"\"", sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"sub": "00u1mallory", "email": "ops@example.com", "email_verified": ""})), "not verified"},
		{"email_verified \"1\"", sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"sub": "00u1mallory", "email": "ops@example.com", "email_verified": "1"})), "not verified"},
		{"email_verified 1", sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"sub": "00u1mallory", "email": "ops@example.com", "email_verified": 1})), "not verified"},
		{"tampered payload", func() string {
			parts := strings.Split(sign(t, p.rsaKey, "rsa-1", jose.RS256, claims(map[string]any{"sub": "00u1mallory"})), ".")
			return parts[0] + "." + b64(claims(nil)) + "." + parts[2]
		}(), "signature"},
	} {
		pr, err := v.Verify(context.Background(), tt.tok)
		if err == nil {
			t.Errorf("%s: accepted as %+v", tt.name, pr)
			continue
		}
		if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q does not mention %q", tt.name, err, tt.want)
		}
	}
}

func TestOIDCOptionsAndMappingErrors(t *testing.T) {
	dir := t.TempDir()
	n := 0
	write := func(s string) string {
		n++
		p := filepath.Join(dir, fmt.Sprintf("m%d.json", n))
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := OIDCOptions{Issuer: "https://idp.example", Audience: "riposte", JWKSURL: "https://idp.example/keys"}
	for _, tt := range []struct {
		name string
		o    OIDCOptions
		want string
	}{
		{"no audience", OIDCOptions{Issuer: "https://idp.example", MappingFile: write(`{"users":[]}`)}, EnvOIDCAudience},
		{"no mapping", OIDCOptions{Issuer: "https://idp.example", Audience: "a"}, EnvOIDCMapping},
		{"symmetric alg", func() OIDCOptions {
			o := base
			o.MappingFile = write(`{"users":[]}`)
			o.Algs = []string{"HS256"}
			return o
		}(), `"HS256" is not accepted`},
		{"none alg", func() OIDCOptions {
			o := base
			o.MappingFile = write(`{"users":[]}`)
			o.Algs = []string{"none"}
			return o
		}(), `"none" is not accepted`},
		{"entry without sub or email", func() OIDCOptions {
			o := base
			o.MappingFile = write(`{"users":[{"slack":"U1","scopes":["read"]}]}`)
			return o
		}(), "users[0]: needs sub or email"},
		{"entry without slack", func() OIDCOptions {
			o := base
			o.MappingFile = write(`{"users":[{"sub":"x","scopes":["read"]}]}`)
			return o
		}(), "users[0].slack"},
		{"unknown scope", func() OIDCOptions {
			o := base
			o.MappingFile = write(`{"users":[{"sub":"x","slack":"U1","scopes":["root"]}]}`)
			return o
		}(), `users[0].scopes: unknown scope "root"`},
		{"unknown field", func() OIDCOptions {
			o := base
			o.MappingFile = write(`{"users":[{"sub":"x","slack":"U1","scopes":["read"],"admin":true}]}`)
			return o
		}(), "unknown field"},
	} {
		if _, err := NewOIDCVerifier(context.Background(), tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	for _, env := range []string{EnvOIDCIssuer, EnvOIDCAudience, EnvOIDCJWKSURL, EnvOIDCMapping, EnvOIDCAlgs} {
		t.Setenv(env, "")
	}
	if _, ok := OIDCOptionsFromEnv(); ok {
		t.Error("OIDC on with no RIPOSTE_OIDC_* set")
	}
	// Half a configuration is on, and refused for what it lacks (README:
	// "A partial or broken configuration refuses to start").
	for _, env := range []string{EnvOIDCAudience, EnvOIDCJWKSURL, EnvOIDCMapping, EnvOIDCAlgs} {
		t.Setenv(env, "RS256")
		o, ok := OIDCOptionsFromEnv()
		if !ok {
			t.Errorf("%s set without an issuer: OIDC off", env)
		}
		if _, err := NewOIDCVerifier(context.Background(), o); err == nil || !strings.Contains(err.Error(), EnvOIDCIssuer) {
			t.Errorf("%s set without an issuer: %v", env, err)
		}
		t.Setenv(env, "")
	}
	t.Setenv(EnvOIDCIssuer, "https://idp.example")
	t.Setenv(EnvOIDCAudience, "riposte")
	t.Setenv(EnvOIDCAlgs, "RS256, ES256")
	if o, ok := OIDCOptionsFromEnv(); !ok || o.Audience != "riposte" || len(o.Algs) != 2 {
		t.Errorf("from env: %+v %v", o, ok)
	}
}

// The mapping file's slack must be a Slack user id (as a personal token's
// --user): an email or a name never equals the id of a Slack click, so the
// person would be two identities for four-eyes.
func TestOIDCMappingSlackMustBeAUserID(t *testing.T) {
	for _, bad := range []string{"alice@example.com", "alice", "S0SOCONCALL"} {
		mapping := filepath.Join(t.TempDir(), "m.json")
		if err := os.WriteFile(mapping, []byte(fmt.Sprintf(`{"users":[{"sub":"00u1","slack":%q,"scopes":["approve"]}]}`, bad)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadOIDCMapping(mapping)
		if err == nil || !strings.Contains(err.Error(), "users[0].slack") {
			t.Errorf("slack %q: %v; want refused naming users[0].slack", bad, err)
		}
	}
}

// README, OIDC: the mapping file "says who it is and what it may do" —
// "matched by sub, or by email" — and "a partial or broken configuration
// refuses to start". A subject (or an email, compared without case as it
// is matched) listed twice was taken silently from the later entry: a
// copied entry edited for a new hire but keeping the old sub made the IdP
// user 00u1 act as U0BOB (approving as Bob, four-eyes comparing Bob) with
// nothing said. Which person a token is must not depend on the order of
// entries: such a mapping refuses to start, naming both entries.
func TestOIDCMappingNamesEachSubjectOnce(t *testing.T) {
	for _, tc := range []struct{ users, want string }{
		{`{"sub":"00u1","slack":"U0ALICE","scopes":["approve"]},{"sub":"00u1","slack":"U0BOB","scopes":["approve"]}`, `users[1]: sub "00u1" is already mapped (users[0])`},
		{`{"email":"ops@example.com","slack":"U0ALICE","scopes":["read"]},{"email":"Ops@Example.com","slack":"U0BOB","scopes":["operate"]}`, `users[1]: email "Ops@Example.com" is already mapped (users[0])`},
	} {
		mapping := filepath.Join(t.TempDir(), "m.json")
		if err := os.WriteFile(mapping, []byte(`{"users":[`+tc.users+`]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadOIDCMapping(mapping)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v; want refused with %s", tc.users, err, tc.want)
		}
	}
}

// RIPOSTE_OIDC_* set from a Kubernetes Secret or a file end with a newline
// when it was written with one: an issuer "https://idp.example\n" would
// never equal a token's iss, an audience "riposte\n" its aud, and every
// token would be refused. They are read without the whitespace around them.
func TestOIDCOptionsFromEnvTrimsWhitespace(t *testing.T) {
	t.Setenv(EnvOIDCIssuer, "https://idp.example\n")
	t.Setenv(EnvOIDCAudience, " riposte\r\n")
	t.Setenv(EnvOIDCJWKSURL, "https://idp.example/jwks\n")
	t.Setenv(EnvOIDCMapping, "/run/secrets/oidc-mapping.json\n")
	t.Setenv(EnvOIDCAlgs, "RS256,\nES256\n")
	o, ok := OIDCOptionsFromEnv()
	if !ok || o.Issuer != "https://idp.example" || o.Audience != "riposte" || o.JWKSURL != "https://idp.example/jwks" ||
		o.MappingFile != "/run/secrets/oidc-mapping.json" || len(o.Algs) != 2 || o.Algs[0] != "RS256" || o.Algs[1] != "ES256" {
		t.Errorf("from env with newlines: %+v %v; want each value without the whitespace around it", o, ok)
	}
}
