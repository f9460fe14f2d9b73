package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// serve writes every playbook version it loads into the playbook store
// (--playbook-store, RIPOSTE_PLAYBOOK_STORE) before it connects to
// Temporal, and refuses to start (exit 2) when it cannot, naming the
// setting, the store's directory and what it could not write. Tests run as
// root, whom a chmod does not stop: here the file of the one version is
// taken by a directory, which os.Rename will not replace, so writing it
// fails for root too.
func TestServeRefusesAStoreItCannotWrite(t *testing.T) {
	for _, v := range []string{"RIPOSTE_CODEC_KEY_FILE", "RIPOSTE_DECISION_KEY_FILE", "RIPOSTE_DECISION_KEYS", "RIPOSTE_USER",
		"RIPOSTE_TOKENS_FILE", "RIPOSTE_API_TOKEN_FILE", "RIPOSTE_PLAYBOOK_STORE", "RIPOSTE_POLICY", "RIPOSTE_CONFIG",
		"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_TEAM_ID", "SLACK_APP_ID",
		"RIPOSTE_OIDC_ISSUER", "RIPOSTE_OIDC_AUDIENCE", "RIPOSTE_OIDC_MAPPING_FILE", "RIPOSTE_OIDC_JWKS_URL"} {
		t.Setenv(v, "")
	}
	t.Setenv("RIPOSTE_CODEC_KEYS", testCodecKeys)
	t.Setenv(config.TokenEnv, "rpt_0123456789abcdef0123456789abcdef")
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	dir := t.TempDir()
	pbs, store := filepath.Join(dir, "playbooks"), filepath.Join(dir, "store")
	for _, d := range []string{pbs, store} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	src := []byte(validatePolicyPlaybook)
	if err := os.WriteFile(filepath.Join(pbs, "p.yaml"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	taken := filepath.Join(store, playbook.Digest(src)+".yaml")
	if err := os.Mkdir(taken, 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--http", "127.0.0.1:0", "--config", filepath.Join(dir, "none.yaml"), "--playbooks", pbs}
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want []string
	}{
		{"flag", "", append(args, "--playbook-store", store), []string{"--playbook-store", "RIPOSTE_PLAYBOOK_STORE"}},
		{"env", store, args, []string{"RIPOSTE_PLAYBOOK_STORE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("RIPOSTE_PLAYBOOK_STORE", tc.env)
			code, _, stderr := runCLI(t, tc.args...)
			if code != 2 || strings.Contains(stderr, "127.0.0.1:1") {
				t.Errorf("exit %d, want 2 before connecting to Temporal; stderr:\n%s", code, stderr)
			}
			for _, w := range append(tc.want, "cannot write to the playbook store "+store, "playbook p v1", taken) {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
		})
	}
}
