package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestOIDCKeysOnlyFromTheConfiguredJWKS: a token is verified only with the
// keys of the JWKS Riposte was configured with (RIPOSTE_OIDC_JWKS_URL, or
// the issuer's discovery). A token that brings its own key, embedded in
// its header (jwk, RFC 7515 §4.1.3) or named by URL (jku §4.1.2, x5u
// §4.1.5), is signed by whoever made it: it is refused, and nothing is
// fetched from the URL it names.
func TestOIDCKeysOnlyFromTheConfiguredJWKS(t *testing.T) {
	p := newIDP(t)
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := jose.JSONWebKey{Key: &attacker.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"}
	var evilHits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{attackerJWK}})
	}))
	defer evil.Close()

	dir := t.TempDir()
	mapping := filepath.Join(dir, "oidc-users.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[{"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["approve"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := NewOIDCVerifier(context.Background(), OIDCOptions{Issuer: p.srv.URL, Audience: "riposte-api", MappingFile: mapping, HTTPClient: p.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": p.srv.URL, "aud": "riposte-api", "sub": "00u1alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	signWith := func(opts *jose.SignerOptions) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: attacker}, opts.WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := s.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := obj.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for name, tok := range map[string]string{
		"embedded jwk":         signWith(&jose.SignerOptions{EmbedJWK: true}),
		"embedded jwk and kid": signWith((&jose.SignerOptions{EmbedJWK: true}).WithHeader("kid", "rsa-1")),
		"jku":                  signWith((&jose.SignerOptions{}).WithHeader("kid", "rsa-1").WithHeader("jku", evil.URL+"/keys")),
		"jku, no kid":          signWith((&jose.SignerOptions{}).WithHeader("jku", evil.URL+"/keys")),
		"x5u":                  signWith((&jose.SignerOptions{}).WithHeader("kid", "rsa-1").WithHeader("x5u", evil.URL+"/cert.pem")),
	} {
		if pr, err := v.Verify(context.Background(), tok); err == nil {
			t.Errorf("%s: a token signed with its own key was accepted as %+v", name, pr)
		}
	}
	if n := evilHits.Load(); n != 0 {
		t.Errorf("the key URLs named in tokens were fetched %d time(s)", n)
	}
	// The IdP's own key still verifies (the refusals above are not a broken verifier).
	if _, err := v.Verify(context.Background(), sign(t, p.rsaKey, "rsa-1", jose.RS256, map[string]any{"iss": p.srv.URL, "aud": "riposte-api", "sub": "00u1alice", "exp": now.Add(time.Hour).Unix()})); err != nil {
		t.Fatalf("the IdP's token was refused: %v", err)
	}
}

// TestOIDCDiscoveryNamingAnotherIssuerRefusesToStart: the discovery
// document read at start must name the configured issuer (OpenID Connect
// Discovery 1.0 §4.3): one naming another (a proxy or a lookalike serving
// someone else's configuration, whose jwks_uri would then be trusted) is
// refused, naming both.
func TestOIDCDiscoveryNamingAnotherIssuerRefusesToStart(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": "https://idp.evil.example", "jwks_uri": srv.URL + "/keys"})
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	mapping := filepath.Join(t.TempDir(), "oidc-users.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[{"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewOIDCVerifier(context.Background(), OIDCOptions{Issuer: srv.URL, Audience: "riposte-api", MappingFile: mapping, HTTPClient: srv.Client()})
	if err == nil {
		t.Fatal("a discovery document naming another issuer was accepted")
	}
	if !strings.Contains(err.Error(), "idp.evil.example") || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("error %q does not name both issuers", err)
	}
}
