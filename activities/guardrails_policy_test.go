package activities

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The worker checks policy.yaml's budgets against the catalog: a budget
// for an action that does not exist refuses start with its position and
// a suggestion, instead of leaving containment unlimited. The shipped
// policy files pass.
func TestWorkerPolicyChecksBudgetActions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte("budgets:\n  - {action: crowdstrike.contain_hots, max: 5, per: 1h}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := path + `:2:14: budgets[0].action: unknown action "crowdstrike.contain_hots" (did you mean "crowdstrike.contain_host"?)`
	if _, err := NewGuardrails(nil, "q", path, nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("NewGuardrails: %v, want %q", err, want)
	}
	if _, err := LoadPolicy(path); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("LoadPolicy: %v, want %q", err, want)
	}
	if _, err := LoadPolicy("../deploy/config/policy.yaml"); err != nil {
		t.Errorf("deploy/config/policy.yaml: %v", err)
	}
}

// A protected pattern mixing scripts (a Cyrillic с in dc-*) loads, and the
// worker logs the warning naming it at start and when an edit brings one:
// the protection it looks like is off (internal/policy's
// TestProtectedPatternMixingScriptsWarns has the rule).
func TestWorkerLogsPolicyWarnings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte("protected:\n  hosts: [d\u0441-*]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	g, err := NewGuardrails(nil, "q", path, logger)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), path+`:2:11: warning: protected.hosts[0]: \"dс-*\" mixes Latin and Cyrillic letters: \"с\" (U+0441) at column 12`) {
		t.Errorf("start log:\n%s\nwant a warning naming the pattern, the character, its code point and column", buf.String())
	}
	buf.Reset()
	if err := os.WriteFile(path, []byte("protected:\n  users: [\u0430dmin]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	g.current()
	if !strings.Contains(buf.String(), `protected.users[0]: \"аdmin\" mixes Latin and Cyrillic letters`) {
		t.Errorf("reload log:\n%s\nwant the new warning", buf.String())
	}
}
