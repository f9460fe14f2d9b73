package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/riposte-dev/riposte/internal/auth"
)

// Two riposte tokens commands at once on one tokens file (two operators,
// or a script creating a team's tokens in parallel) each read the file,
// changed their copy and wrote it back: the later write dropped the
// other's change. A token was printed, then refused (401) because its
// record was gone; worse, a revocation printed "revoked" and the token
// stayed valid. Every command's change is kept.
func TestTokensCommandsAtOnceKeepEveryChange(t *testing.T) {
	dir := t.TempDir()
	// Tokens to revoke, created one after the other.
	var revoke []string
	for i := range 8 {
		code, _, stderr := runCLI(t, "tokens", "create", "--data-dir", dir, "--user", fmt.Sprintf("U0OLD%05d", i), "--scope", "approve")
		if code != 0 {
			t.Fatalf("create: %s", stderr)
		}
		i := strings.Index(stderr, "Token ")
		revoke = append(revoke, strings.Fields(stderr[i:])[1])
	}
	const n = 24
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"tokens", "create", "--data-dir", dir, "--user", fmt.Sprintf("U0NEW%05d", i), "--scope", "read"}
			if i < len(revoke) {
				args = []string{"tokens", "revoke", revoke[i], "--data-dir", dir}
			}
			if code, _, stderr := runCLI(t, args...); code != 0 {
				t.Errorf("%v: exit %d: %s", args, code, stderr)
			}
		}()
	}
	wg.Wait()
	recs, err := auth.NewStore(filepath.Join(dir, auth.TokensFile)).List()
	if err != nil {
		t.Fatal(err)
	}
	created, active := 0, 0
	for _, r := range recs {
		if strings.HasPrefix(r.User, "U0NEW") {
			created++
		}
		if strings.HasPrefix(r.User, "U0OLD") && r.RevokedAt == nil {
			active++
			t.Errorf("token %s of %s was revoked (the command said so) but is active", r.ID, r.User)
		}
	}
	if want := n - len(revoke); created != want {
		t.Errorf("%d of the %d tokens created at once are in the file; the others were printed but are refused", created, want)
	}
}
