package cli

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/config"
)

// TestServeRefusesBadTokenFileWithTokensFile: the shared API token file
// (--token-file, RIPOSTE_API_TOKEN_FILE) is refused at start when every
// user may read it, or when it is missing or empty (deploy/README.md,
// Secret files: exit 2 naming the chmod). serve swallowed that error
// whenever personal tokens (--tokens-file) were configured too: it started
// without the shared token the operator had named, so every client using
// it (a SIEM forwarding detections, a script) got 401, and nothing said
// why. A token file that is named must be read, or serve must not start.
func TestServeRefusesBadTokenFileWithTokensFile(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.json")
	if _, _, err := auth.NewStore(tokens).Create("U0SOCLEAD1", []string{auth.ScopeRead}, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	for _, v := range []string{"RIPOSTE_CODEC_KEY_FILE", "RIPOSTE_DECISION_KEY_FILE", "RIPOSTE_DECISION_KEYS", "RIPOSTE_USER", config.TokenEnv,
		"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "RIPOSTE_OIDC_ISSUER", "RIPOSTE_OIDC_AUDIENCE", "RIPOSTE_OIDC_MAPPING_FILE", "RIPOSTE_OIDC_JWKS_URL"} {
		t.Setenv(v, "")
	}
	t.Setenv("RIPOSTE_CODEC_KEYS", fmt.Sprintf(`{"active":"k1","keys":{"k1":%q}}`, base64.StdEncoding.EncodeToString(key)))
	t.Setenv("RIPOSTE_TOKENS_FILE", tokens)
	// Nothing listens there: if serve gets past its checks it fails to
	// connect (exit 1), not with exit 2.
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")

	readable := filepath.Join(dir, "api-token")
	if err := os.WriteFile(readable, []byte("rpt_0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(readable, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{
		"world-readable": readable,
		"missing":        filepath.Join(dir, "api-tokn"),
	} {
		t.Setenv("RIPOSTE_API_TOKEN_FILE", file)
		code, _, stderr := runCLI(t, "serve", "--http", "127.0.0.1:0", "--playbooks", filepath.Join("..", "..", "playbooks"), "--config", filepath.Join(dir, "none.yaml"))
		if code != 2 || !strings.Contains(stderr, "API token file") {
			t.Errorf("%s RIPOSTE_API_TOKEN_FILE with --tokens-file: exit %d, want 2 naming the token file; stderr:\n%s", name, code, stderr)
		}
	}
}
