package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/config"
)

// TestStartChecksLocalSettingsBeforeTemporal: worker and serve read their
// playbook store (--playbook-store, RIPOSTE_PLAYBOOK_STORE), the worker its
// vendor connections (--config) and policy (--policy) files, and both the
// SLACK_* environment, only after connecting to Temporal. A mistake in one
// of them was reported only once the connection worked; with Temporal
// unreachable (a cluster down, a wrong address, a network policy) the
// operator saw only the connection error, fixed that, and only then met
// the local mistake. Each is now reported at start, before any connection,
// naming the setting and the path: here Temporal is unreachable
// (127.0.0.1:1), so an error that names the connection, or an exit 1 for a
// bad setting, means the local check came after it.
func TestStartChecksLocalSettingsBeforeTemporal(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// riposte.yaml and policy.yaml that do not parse (an unclosed flow
	// sequence), and a directory where a file is expected.
	badConns := filepath.Join(dir, "riposte.yaml")
	badPolicy := filepath.Join(dir, "policy.yaml")
	for _, p := range []string{badConns, badPolicy} {
		if err := os.WriteFile(p, []byte("connections: [\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	subdir := filepath.Join(dir, "adir")
	if err := os.Mkdir(subdir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"RIPOSTE_CODEC_KEY_FILE", "RIPOSTE_DECISION_KEY_FILE", "RIPOSTE_DECISION_KEYS", "RIPOSTE_USER",
		"RIPOSTE_TOKENS_FILE", "RIPOSTE_API_TOKEN_FILE", "RIPOSTE_PLAYBOOK_STORE", "RIPOSTE_POLICY", "RIPOSTE_CONFIG",
		"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_TEAM_ID", "SLACK_APP_ID",
		"RIPOSTE_OIDC_ISSUER", "RIPOSTE_OIDC_AUDIENCE", "RIPOSTE_OIDC_MAPPING_FILE", "RIPOSTE_OIDC_JWKS_URL"} {
		t.Setenv(v, "")
	}
	t.Setenv("RIPOSTE_CODEC_KEYS", testCodecKeys)
	t.Setenv(config.TokenEnv, "rpt_0123456789abcdef0123456789abcdef")
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	none := filepath.Join(dir, "none.yaml")
	playbooks := filepath.Join("..", "..", "playbooks")
	worker := []string{"worker", "--config", none, "--policy", "", "--playbooks", playbooks}
	serve := []string{"serve", "--http", "127.0.0.1:0", "--config", none, "--playbooks", playbooks}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string
	}{
		{"worker store is a file", nil, append(worker, "--playbook-store", file), 2, []string{"--playbook-store", "RIPOSTE_PLAYBOOK_STORE", file, "not a directory"}},
		{"worker store under a file", nil, append(worker, "--playbook-store", filepath.Join(file, "store")), 2, []string{"--playbook-store", file}},
		{"worker store from env", map[string]string{"RIPOSTE_PLAYBOOK_STORE": file}, worker, 2, []string{"RIPOSTE_PLAYBOOK_STORE", file}},
		{"worker connections invalid", nil, append(worker, "--config", badConns), 1, []string{"--config", "RIPOSTE_CONFIG", badConns}},
		{"worker connections a directory", nil, append(worker, "--config", subdir), 1, []string{"--config", subdir}},
		{"worker policy invalid", nil, append(worker, "--policy", badPolicy), 1, []string{"--policy", "RIPOSTE_POLICY", badPolicy}},
		{"worker policy a directory", nil, append(worker, "--policy", subdir), 1, []string{"--policy", subdir}},
		{"worker slack incomplete", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, worker, 2, []string{"Slack configuration", "SLACK_SIGNING_SECRET"}},
		{"serve store is a file", nil, append(serve, "--playbook-store", file), 2, []string{"--playbook-store", "RIPOSTE_PLAYBOOK_STORE", file, "not a directory"}},
		{"serve store under a file", nil, append(serve, "--playbook-store", filepath.Join(file, "store")), 2, []string{"--playbook-store", file}},
		{"serve slack incomplete", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, serve, 2, []string{"Slack configuration", "SLACK_SIGNING_SECRET"}},
		{"serve slack app token alone", map[string]string{"SLACK_APP_TOKEN": "xapp-1"}, serve, 2, []string{"Slack configuration", "SLACK_BOT_TOKEN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code || strings.Contains(stderr, "127.0.0.1:1") {
				t.Errorf("exit %d, want %d before connecting to Temporal; stderr:\n%s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
		})
	}
	// The same settings, valid, get as far as the connection: what the
	// cases above refuse is the mistake, not the setting.
	store := filepath.Join(dir, "store")
	for name, args := range map[string][]string{
		"worker": append(worker, "--playbook-store", store),
		"serve":  append(serve, "--playbook-store", store),
	} {
		code, _, stderr := runCLI(t, args...)
		if code != 1 || !strings.Contains(stderr, "127.0.0.1:1") {
			t.Errorf("%s with valid local settings: exit %d, want 1 on the connection; stderr:\n%s", name, code, stderr)
		}
	}
}
