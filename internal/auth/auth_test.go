package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	s := NewStore(path)
	scopes, err := ParseScopes("operate, approve")
	if err != nil || strings.Join(scopes, ",") != "approve,operate" {
		t.Fatalf("ParseScopes: %v %v", scopes, err)
	}
	tok, rec, err := s.Create("U0SOCLEAD1", scopes, "laptop", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), tok) || strings.Contains(string(b), strings.TrimPrefix(tok, TokenPrefix+rec.ID+"_")) {
		t.Fatal("the token itself is stored")
	}
	// What is stored is the token's SHA-256 (README), nothing else of it.
	sum := sha256.Sum256([]byte(tok))
	if !strings.Contains(string(b), `"sha256": "`+hex.EncodeToString(sum[:])+`"`) {
		t.Errorf("the file does not hold the token's SHA-256:\n%s", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", fi.Mode().Perm())
	}
	p, known, err := s.Lookup(tok)
	if err != nil || !known || p.Identity != "U0SOCLEAD1" || !p.Has(ScopeApprove) || p.Has(ScopeIntake) || p.Has(ScopeAdmin) {
		t.Fatalf("Lookup: %+v %v %v", p, known, err)
	}
	if _, known, _ := NewStore(path).Lookup(tok + "x"); known {
		t.Fatal("a changed token authenticates")
	}
	// Another process revokes: the next lookup sees it.
	if _, err := NewStore(path).Revoke(rec.ID[:6], time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Lookup(tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked token: %v", err)
	}
	recs, _ := s.List()
	if len(recs) != 1 || recs[0].RevokedAt == nil {
		t.Fatalf("List: %+v", recs)
	}
	// Not Slack user ids: an email or a name never equals the id a Slack
	// click carries, so four-eyes would see two people in one.
	for _, bad := range []string{"", "U0\u200bX", "Ｕ1", "alice@example.com", "alice", "S0SOCONCALL", "U0 X"} {
		if _, _, err := s.Create(bad, scopes, "", time.Now()); err == nil {
			t.Errorf("Create(%q) accepted", bad)
		}
	}
	if _, err := ParseScopes("approve,root"); err == nil || !strings.Contains(err.Error(), "valid: intake") {
		t.Errorf("unknown scope: %v", err)
	}
	admin := &Principal{Scopes: []string{ScopeAdmin}}
	if !admin.Has(ScopeOperate) || (*Principal)(nil).Has(ScopeRead) {
		t.Error("Has")
	}
}

// A token file that is not a regular file (a symlink to /dev/zero) or is
// oversized is refused before it is read, and authenticates nobody.
func TestStoreRefusesOddFiles(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.json")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Skip("no symlinks:", err)
	}
	if _, _, err := NewStore(zero).Lookup(TokenPrefix + "x"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("/dev/zero: %v", err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := NewStore(big).Lookup(TokenPrefix + "x"); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized: %v", err)
	}
}
