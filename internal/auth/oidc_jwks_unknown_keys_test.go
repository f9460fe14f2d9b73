package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// RFC 7517 §5: implementations SHOULD ignore the keys of a JWK Set whose
// kty they do not understand, that miss required members or whose values
// are out of the supported range. An IdP's JWKS may hold such a key next
// to the ones that sign its tokens: Keycloak's EdDSA key provider set to
// Ed448, an X25519 key for ECDH-ES encryption ("use": "enc"), a secp256k1
// key. The JWKS was decoded as a whole, so one such key made the whole set
// unreadable and every OIDC token was answered 503, its RSA key included.
// Keys without "alg" (Entra ID, Google) are tried with the token's.
func TestOIDCJWKSWithKeysRiposteCannotUse(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	usable, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &rk.PublicKey, KeyID: "rsa-1", Use: "sig"},
		{Key: edPub, KeyID: "ed-1", Use: "sig"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(usable, &set); err != nil {
		t.Fatal(err)
	}
	x := func(n int) string { return base64.RawURLEncoding.EncodeToString(make([]byte, n)) }
	others := []string{
		`{"kty":"OKP","crv":"Ed448","kid":"ed448-1","use":"sig","alg":"EdDSA","x":"` + x(57) + `"}`,
		`{"kty":"OKP","crv":"X25519","kid":"enc-1","use":"enc","alg":"ECDH-ES","x":"` + x(32) + `"}`,
		`{"kty":"EC","crv":"secp256k1","kid":"k1-1","use":"sig","alg":"ES256K","x":"` + x(32) + `","y":"` + x(32) + `"}`,
	}
	for _, o := range others {
		set.Keys = append([]json.RawMessage{json.RawMessage(o)}, set.Keys...)
	}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/keys" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	mapping := filepath.Join(t.TempDir(), "oidc-users.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[{"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := NewOIDCVerifier(context.Background(), OIDCOptions{Issuer: srv.URL, Audience: "riposte-api", JWKSURL: srv.URL + "/keys",
		MappingFile: mapping, Algs: []string{"RS256", "EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := map[string]any{"iss": srv.URL, "aud": "riposte-api", "sub": "00u1alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for _, tc := range []struct {
		name string
		tok  string
	}{
		{"RS256 by rsa-1", sign(t, rk, "rsa-1", jose.RS256, claims)},
		{"EdDSA by ed-1 (Ed25519)", sign(t, edKey, "ed-1", jose.EdDSA, claims)},
	} {
		if p, err := v.Verify(context.Background(), tc.tok); err != nil || p.Identity != "U0SOCLEAD1" {
			t.Errorf("%s, the JWKS also holding keys of types Riposte does not use: %v (%v)", tc.name, err, p)
		}
	}
}
