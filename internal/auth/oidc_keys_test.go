package auth

import (
	"context"
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
