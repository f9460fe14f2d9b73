package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Taking a person out of the OIDC mapping file (they left, or lost the
// approve scope) must take effect on the next request, as `riposte tokens
// revoke` does for a personal token (the token file is re-read when it
// changes): the mapping was read once at start, so the removed person went
// on approving gates as their Slack identity until the server restarted.
// A mapping file broken by the edit authenticates nobody (fail closed).
func TestOIDCMappingChangeTakesEffectOnNextRequest(t *testing.T) {
	p := newIDP(t)
	mapping := filepath.Join(t.TempDir(), "oidc-users.json")
	write := func(body string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(mapping, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		// A distinct modification time, as an edit seconds later has.
		if err := os.Chtimes(mapping, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().Add(-time.Hour)
	write(`{"users":[
  {"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["read","approve"]},
  {"sub":"00u2bob","slack":"U0INFRA001","scopes":["read","approve"]}
]}`, start)
	v, err := NewOIDCVerifier(context.Background(), OIDCOptions{Issuer: p.srv.URL, Audience: "riposte-api", JWKSURL: p.srv.URL + "/keys", MappingFile: mapping})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok := func(sub string) string {
		return sign(t, p.rsaKey, "rsa-1", jose.RS256, map[string]any{"iss": p.srv.URL, "aud": "riposte-api", "sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	}
	if pr, err := v.Verify(context.Background(), tok("00u1alice")); err != nil || !pr.Has(ScopeApprove) {
		t.Fatalf("alice before the edit: %+v, %v", pr, err)
	}

	// Alice leaves the SOC: her entry is removed; Bob keeps only read.
	write(`{"users":[
  {"sub":"00u2bob","slack":"U0INFRA001","scopes":["read"]}
]}`, start.Add(time.Minute))
	if pr, err := v.Verify(context.Background(), tok("00u1alice")); err == nil {
		t.Errorf("alice removed from the mapping file: still authenticated as %s with scopes %v", pr.Identity, pr.Scopes)
	}
	if pr, err := v.Verify(context.Background(), tok("00u2bob")); err != nil || pr.Has(ScopeApprove) {
		t.Errorf("bob's approve scope removed from the mapping file: %+v, %v; want read only", pr, err)
	}

	// An edit that breaks the file: nobody is authenticated by it.
	write(`{"users":[{"sub":"00u2bob","slack":"U0INFRA001","scopes":["read"]},`, start.Add(2*time.Minute))
	if pr, err := v.Verify(context.Background(), tok("00u2bob")); err == nil {
		t.Errorf("broken mapping file: bob authenticated as %+v", pr)
	} else if !strings.Contains(err.Error(), "mapping") {
		t.Errorf("broken mapping file: error %q does not name the mapping file", err)
	}
}
