package system

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// TestSiteFileNote: a policy.yaml or riposte.yaml found under the
// playbook paths is skipped at start-up (it is not a playbook), quietly
// when it is the file in effect and with a warning otherwise, because
// nothing reads a policy put beside the playbooks: its guardrails must
// not be assumed to apply (before site files were told apart, such a
// file refused start as a broken playbook).
func TestSiteFileNote(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, f := range []string{"policy.yaml", "riposte.yaml"} {
		if err := os.WriteFile(f, []byte("{}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll("playbooks", 0o700); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "policy.yaml")
	tests := []struct {
		name           string
		sf             playbook.SiteFile
		policy, config string
		level          slog.Level
		says           string
	}{
		{"the policy in effect, --playbooks .", playbook.SiteFile{Path: "policy.yaml", Kind: playbook.SitePolicy}, "policy.yaml", "riposte.yaml", slog.LevelInfo, "it is the policy in effect"},
		{"the policy in effect, named otherwise", playbook.SiteFile{Path: "policy.yaml", Kind: playbook.SitePolicy}, abs, "", slog.LevelInfo, "it is the policy in effect"},
		{"a policy beside the playbooks, not in effect", playbook.SiteFile{Path: "playbooks/policy.yaml", Kind: playbook.SitePolicy}, "policy.yaml", "riposte.yaml", slog.LevelWarn, "its guardrails do not apply"},
		{"a policy, the policy in effect unknown (serve)", playbook.SiteFile{Path: "policy.yaml", Kind: playbook.SitePolicy}, "", "riposte.yaml", slog.LevelWarn, "only if they name it"},
		{"the configuration in effect", playbook.SiteFile{Path: "./riposte.yaml", Kind: playbook.SiteConfig}, "policy.yaml", "riposte.yaml", slog.LevelInfo, "it is the configuration in effect"},
		{"a configuration nobody reads", playbook.SiteFile{Path: "playbooks/riposte.yaml", Kind: playbook.SiteConfig}, "policy.yaml", "riposte.yaml", slog.LevelWarn, "nothing reads it"},
		{"a configuration, none in effect", playbook.SiteFile{Path: "riposte.yaml", Kind: playbook.SiteConfig}, "policy.yaml", "", slog.LevelWarn, "no --config / RIPOSTE_CONFIG names a configuration"},
		// --playbooks . at the top of a project with a Compose file and
		// Kubernetes manifests (playbook.Foreign): skipped, said at INFO.
		{"another tool's YAML", playbook.SiteFile{Path: "docker-compose.yml", Kind: "other"}, "policy.yaml", "riposte.yaml", slog.LevelInfo, "another tool's YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			level, msg := siteFileNote(tt.sf, tt.policy, tt.config)
			if level != tt.level || !strings.Contains(msg, tt.says) {
				t.Errorf("siteFileNote = %v %q, want %v saying %q", level, msg, tt.level, tt.says)
			}
		})
	}
}

// riposte dev --playbooks . at the top of a project with Kubernetes
// manifests and a Compose file refused to start ("playbooks are invalid;
// not starting": apiVersion must be riposte/v1, got "apps/v1", ...).
// It starts with the playbook beside them, and logs each file it skipped
// and what it holds.
func TestStartSkipsOtherToolsYAML(t *testing.T) {
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	b, err := prepareAPI(APIOptions{Addr: "127.0.0.1:0", Playbooks: []string{"../playbook/testdata/other"}}, logger)
	if err != nil {
		t.Fatalf("start with --playbooks testdata/other: %v", err)
	}
	b.closeListener()
	if len(b.set.Playbooks) != 1 {
		t.Errorf("%d playbooks, want 1", len(b.set.Playbooks))
	}
	for _, f := range []string{"k8s-deployment.yaml", "k8s-configmaps.yaml", "compose-secrets.yaml", "compose-name.yml", "github-actions-demo.yml", "temporal-dynamicconfig.yaml"} {
		if !strings.Contains(logs.String(), "level=INFO msg=\"playbooks: another tool's YAML") || !strings.Contains(logs.String(), f) {
			t.Errorf("log does not say %s was skipped:\n%s", f, logs.String())
		}
	}
}
