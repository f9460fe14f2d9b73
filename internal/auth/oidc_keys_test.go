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
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// A key of the JWKS is used only with the algorithm its alg names, and
// only for signatures (use "sig" or none): RFC 8725 §3.1, RFC 7517 §4.2,
// §4.4. An RS256 key verifies no PS256 token, even with both accepted.
func TestOIDCKeyUsedOnlyWithItsAlgorithm(t *testing.T) {
	p := newIDP(t) // rsa-1 published with alg RS256
	mapping := filepath.Join(t.TempDir(), "oidc-users.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[{"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := NewOIDCVerifier(context.Background(), OIDCOptions{Issuer: p.srv.URL, Audience: "riposte-api", JWKSURL: p.srv.URL + "/keys",
		MappingFile: mapping, Algs: []string{"RS256", "PS256"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := map[string]any{"iss": p.srv.URL, "aud": "riposte-api", "sub": "00u1alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if _, err := v.Verify(context.Background(), sign(t, p.rsaKey, "rsa-1", jose.RS256, claims)); err != nil {
		t.Fatalf("RS256 token: %v", err)
	}
	if pr, err := v.Verify(context.Background(), sign(t, p.rsaKey, "rsa-1", jose.PS256, claims)); err == nil {
		t.Errorf("PS256 token verified with the key published for RS256: %+v", pr)
	}
}

// A key the JWKS publishes for encryption ("use": "enc", as Keycloak
// publishes its RSA-OAEP key; here without alg, which RFC 7517 §4.4 makes
// optional, so only its use tells) verifies no token, even one signed with
// it under its kid.
func TestOIDCEncryptionKeyVerifiesNoToken(t *testing.T) {
	encKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sigKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &encKey.PublicKey, KeyID: "enc-1", Use: "enc"},
		{Key: &sigKey.PublicKey, KeyID: "sig-1", Use: "sig"},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jwks)
	}))
	defer srv.Close()
	mapping := filepath.Join(t.TempDir(), "oidc-users.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[{"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := NewOIDCVerifier(context.Background(), OIDCOptions{Issuer: "https://idp.example", Audience: "riposte-api", JWKSURL: srv.URL + "/keys", MappingFile: mapping})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := map[string]any{"iss": "https://idp.example", "aud": "riposte-api", "sub": "00u1alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if _, err := v.Verify(context.Background(), sign(t, sigKey, "sig-1", jose.RS256, claims)); err != nil {
		t.Fatalf("token of the signing key: %v", err)
	}
	for _, kid := range []string{"enc-1", ""} {
		if pr, err := v.Verify(context.Background(), sign(t, encKey, kid, jose.RS256, claims)); err == nil {
			t.Errorf("token signed with the encryption key (kid %q) verified: %+v", kid, pr)
		}
	}
}
