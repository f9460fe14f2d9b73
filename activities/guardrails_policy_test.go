package activities

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
