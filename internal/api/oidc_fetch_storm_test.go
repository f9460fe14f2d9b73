package api

import (
	"fmt"
	"net/http/httptest"
	"testing"
)

// A JWT naming a key id the JWKS lacks makes Riposte fetch the JWKS again
// (a key rotation at the IdP). Anyone can make such a token (iss and aud
// are public, the signature is never checked before the fetch), so each
// one must not cost a fetch from the IdP: one caller, within the API's
// per-address rate limit (100/s by default), turned Riposte into a proxy
// flooding the IdP's keys endpoint (Okta and Entra ID rate-limit it per
// organisation, so the flood throttles every other application's sign-in
// too). RFC 8725 §3 and OpenID Connect Core §10.1.1 expect a verifier to
// re-fetch for an unknown kid, not once per token: re-fetches are bounded
// in time (auth.OIDCMinRefetch), as jwks-rsa and Microsoft.IdentityModel
// do.
func TestAPIOIDCForgedKidsDoNotFloodTheIdP(t *testing.T) {
	idp := newTestIDP(t)
	h := oidcServer(t, &fakeStarter{}, idp).Handler()
	get := func(bearer string) response {
		r := httptest.NewRequest("GET", "/v1/playbooks", nil)
		r.Header.Set("Authorization", "Bearer "+bearer)
		return serve(h, r)
	}
	if got := get(idp.token(t, "ec-1", "00u1alice")); got.code != 200 {
		t.Fatalf("valid token: %d %s", got.code, got.body)
	}
	before := idp.fetches.Load()
	const forged = 30
	for i := range forged {
		kid := idp.newKey(t, fmt.Sprintf("forged-%d", i)) // never published
		if got := get(idp.token(t, kid, "00u1alice")); got.code != 401 {
			t.Fatalf("forged token %d: status %d %s, want 401", i, got.code, got.body)
		}
	}
	if n := idp.fetches.Load() - before; n > 1 {
		t.Errorf("%d tokens with unknown key ids from one caller made %d fetches of the IdP's JWKS; want at most 1", forged, n)
	}
	// The valid token still verifies, from the keys already fetched.
	if got := get(idp.token(t, "ec-1", "00u1alice")); got.code != 200 {
		t.Fatalf("valid token after the forged ones: %d %s", got.code, got.body)
	}
}
