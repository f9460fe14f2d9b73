package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// doctor checks what the worker refuses to start with: a bad sticky cache
// size, --no-encryption without a decision key, an invalid policy.yaml
// (budgets against the catalog), an unusable playbook store; and prints
// riposte.yaml's warnings with their position. Temporal is unreachable
// here: that check fails too, the others run regardless.
func TestDoctorChecksWorkerSettings(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte("budgets:\n  - {action: crowdstrike.contain_hots, max: 5, per: 1h}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "riposte.yaml")
	if err := os.WriteFile(cfg, []byte("connections: {}\nconection: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "store")
	if err := os.WriteFile(store, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"SLACK_BOT_TOKEN", "RIPOSTE_DECISION_KEY_FILE", "RIPOSTE_DECISION_KEYS", "RIPOSTE_NO_ENCRYPTION", "RIPOSTE_PLAYBOOK_STORE"} {
		t.Setenv(k, "")
	}
	t.Setenv("RIPOSTE_STICKY_CACHE", "lots")
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"doctor", "--temporal-address", "127.0.0.1:1", "--timeout", "1s", "--no-encryption",
		"--policy", pol, "--config", cfg, "--playbook-store", store}, Streams{Out: &out, Err: &errb})
	if code != 1 || strings.Contains(out.String(), "all checks passed") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"FAIL  decisions    decisions are signed: with --no-encryption set RIPOSTE_DECISION_KEY_FILE",
		"FAIL  policy       " + pol + " is invalid:\n" + pol + `:2:14: budgets[0].action: unknown action "crowdstrike.contain_hots" (did you mean "crowdstrike.contain_host"?)`,
		`FAIL  sticky-cache RIPOSTE_STICKY_CACHE="lots": must be a whole number`,
		"FAIL  pb-store     playbook store " + store + " is not a directory",
		"skip  connections  " + cfg + " configures no connections",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if want := cfg + `:2:1: warning: unknown top-level key "conection" (did you mean "connections"?)`; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errb.String())
	}

	// Good settings pass these checks.
	if err := os.WriteFile(pol, []byte("budgets:\n  - {action: crowdstrike.contain_host, max: 5, per: 1h}\nprotected: {hosts: [d\u0441-*]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RIPOSTE_STICKY_CACHE", "100")
	out.Reset()
	Main(context.Background(), []string{"doctor", "--temporal-address", "127.0.0.1:1", "--timeout", "1s",
		"--policy", pol, "--config", cfg, "--playbook-store", filepath.Join(dir, "new", "store")}, Streams{Out: &out, Err: &errb})
	for _, want := range []string{
		"ok    policy       " + pol + ": 1 budget(s)",
		"ok    sticky-cache 100 runs",
		"ok    pb-store     " + filepath.Join(dir, "new", "store") + " usable",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// A warning of the policy (it loads) goes to stderr with its position.
	if want := pol + `:3:21: warning: protected.hosts[0]: "dс-*" mixes Latin and Cyrillic letters: "с" (U+0441) at column 22 is Cyrillic`; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); err == nil {
		t.Error("doctor created the playbook store")
	}
}
