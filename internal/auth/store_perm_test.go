//go:build unix

package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The token file says who every API caller is: whoever can write it can
// add a token for any Slack user with any scope (admin, approve) and act
// as that person. One every user of the machine may write (mode 0666: a
// volume made world-writable, a careless chmod) must authenticate nobody,
// as sshd refuses an authorized_keys others may write (StrictModes), and
// say why; the same for the OIDC mapping file. Before, such a file was
// trusted like one of mode 0600.
func TestWorldWritableIdentityFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.json")
	s := NewStore(path)
	tok, _, err := s.Create("U0SOCLEAD1", []string{ScopeApprove}, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	p, _, err := NewStore(path).Lookup(tok)
	if err == nil {
		t.Errorf("token file of mode 0666: token accepted as %+v", p)
	} else if !strings.Contains(err.Error(), "writable") {
		t.Errorf("token file of mode 0666: error %q does not say it is writable by others", err)
	}

	mapping := filepath.Join(dir, "oidc-users.json")
	if err := os.WriteFile(mapping, []byte(`{"users":[{"sub":"00u1alice","slack":"U0SOCLEAD1","scopes":["approve"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(mapping, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOIDCMapping(mapping); err == nil || !strings.Contains(err.Error(), "writable") {
		t.Errorf("OIDC mapping file of mode 0666: %v; want it refused as writable by others", err)
	}
}
