package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/auth"
)

func TestTokensCommand(t *testing.T) {
	t.Setenv("RIPOSTE_TOKENS_FILE", "")
	dir := t.TempDir()
	code, out, stderr := runCLI(t, "tokens", "create", "--data-dir", dir, "--user", "U0SOCLEAD1", "--scope", "approve,operate")
	tok := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(tok, auth.TokenPrefix) || !strings.Contains(stderr, "shown only now") {
		t.Fatalf("create: %d %q %q", code, out, stderr)
	}
	store := auth.NewStore(filepath.Join(dir, auth.TokensFile))
	p, known, err := store.Lookup(tok)
	if err != nil || !known || p.Identity != "U0SOCLEAD1" || !p.Has(auth.ScopeOperate) || p.Has(auth.ScopeIntake) {
		t.Fatalf("the created token: %+v %v %v", p, known, err)
	}
	code, out, _ = runCLI(t, "tokens", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "U0SOCLEAD1") || !strings.Contains(out, "approve,operate") || strings.Contains(out, tok) {
		t.Fatalf("list: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "tokens", "revoke", "--data-dir", dir, p.TokenID)
	if code != 0 || !strings.Contains(out, "revoked "+p.TokenID) {
		t.Fatalf("revoke: %d %q", code, out)
	}
	if _, _, err := store.Lookup(tok); err == nil {
		t.Fatal("revoked token still authenticates")
	}
	for _, args := range [][]string{
		{"tokens", "create", "--data-dir", dir, "--user", "U1", "--scope", "root"},
		{"tokens", "create", "--data-dir", dir, "--scope", "read"},
		{"tokens", "create", "--data-dir", dir, "--user", "U1\u200b", "--scope", "read"},
	} {
		if code, _, stderr := runCLI(t, args...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d %q", args, code, stderr)
		}
	}
}

// Issue 12, point 5: terminal escape sequences from outside data are
// printed escaped, in every command's output.
func TestOutputEscapesControlCharacters(t *testing.T) {
	var b bytes.Buffer
	s := escapeStreams(Streams{Out: &b, Err: &b})
	evil := "title \x1b]0;pwned\x07 \x1b[2J\u202eevil\u0085 ok\n\tnext é"
	// Written in two pieces that split a multi-byte rune.
	raw := []byte(evil)
	cut := bytes.Index(raw, []byte("é")) + 1
	_, _ = s.Out.Write(raw[:cut])
	_, _ = s.Out.Write(raw[cut:])
	got := b.String()
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\u0085"} {
		if strings.Contains(got, bad) {
			t.Errorf("output still holds %q: %q", bad, got)
		}
	}
	if !strings.Contains(got, `\u001b]0;pwned\u0007`) || !strings.Contains(got, "ok\n\tnext é") {
		t.Errorf("escaped output: %q", got)
	}
}
