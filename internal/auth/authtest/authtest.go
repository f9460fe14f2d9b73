// Package authtest signs JWTs for the tests of the OIDC bearer tokens
// (internal/auth and the API), as an identity provider would.
package authtest

import (
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// Sign makes a compact JWS over claims with key, its kid and alg.
func Sign(t testing.TB, key any, kid string, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
