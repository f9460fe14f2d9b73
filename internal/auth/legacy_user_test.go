package auth

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A tokens file written before Create required a Slack user id (or edited
// by hand, or mounted from a secret) may bind a token to an email: it must
// not authenticate as that email, which four-eyes would see as someone
// other than the same person's Slack clicks.
func TestLookupRefusesTokenBoundToEmail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	s := NewStore(path)
	tok, rec, err := s.Create("U0SOCLEAD1", []string{ScopeApprove}, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The file as an earlier release wrote it: --user alice@example.com.
	if err := s.update(func(f *storeFile) error {
		for i := range f.Tokens {
			if f.Tokens[i].ID == rec.ID {
				f.Tokens[i].User = "alice@example.com"
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p, known, err := NewStore(path).Lookup(tok)
	if p != nil || !known || !errors.Is(err, ErrNotSlackUser) || !strings.Contains(err.Error(), "alice@example.com") {
		t.Fatalf("Lookup of a token bound to an email: %+v, known %v, %v; want refused with ErrNotSlackUser naming it", p, known, err)
	}
}
