package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/auth"
)

// An IdP whose keys endpoint fails (down, 5xx, or 429 because Okta or
// Entra ID rate-limit it per organisation) must not be asked for its JWKS
// on every request either: a failed fetch counted for nothing, so each
// token with a made-up key id (anyone can make one) and, once the cached
// keys were older than auth.OIDCKeyCacheTTL, each valid request made
// another fetch (each waiting up to the client's 10 s timeout on an IdP
// that does not answer), keeping a rate-limited organisation throttled.
// A failed fetch bounds the next one as a successful one does.
func TestAPIOIDCFailingIdPIsNotFlooded(t *testing.T) {
	idp := newTestIDP(t)
	mapping := filepath.Join(t.TempDir(), "oidc-users.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[{"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read"]}]}`), 0o600); err != nil {
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
	get := func(tok string) int {
		r := httptest.NewRequest("GET", "/v1/playbooks", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return serve(h, r).code
	}
	if code := get(idp.token(t, "ec-1", "00u1alice")); code != 200 {
		t.Fatalf("valid token: %d", code)
	}
	idp.down.Store(true)

	// Forged key ids once the keys are older than OIDCMinRefetch.
	advance(auth.OIDCMinRefetch + time.Second)
	before := idp.tries.Load()
	for i := range 30 {
		kid := idp.newKey(t, fmt.Sprintf("forged-%d", i))
		if code := get(idp.token(t, kid, "00u1alice")); code == 200 {
			t.Fatalf("forged token %d verified", i)
		}
	}
	if n := idp.tries.Load() - before; n > 1 {
		t.Errorf("30 tokens with unknown key ids while the IdP's keys endpoint fails made %d requests for its JWKS; want at most 1", n)
	}

	// Valid tokens once the kept keys are older than OIDCKeyCacheTTL.
	advance(auth.OIDCKeyCacheTTL)
	before = idp.tries.Load()
	for i := range 30 {
		if code := get(idp.token(t, "ec-1", "00u1alice")); code != 200 {
			t.Fatalf("valid token %d while the IdP is down: %d, want 200 (the keys fetched last)", i, code)
		}
	}
	if n := idp.tries.Load() - before; n > 1 {
		t.Errorf("30 valid requests while the IdP's keys endpoint fails made %d requests for its JWKS; want at most 1", n)
	}
}
