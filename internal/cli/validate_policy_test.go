package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const validatePolicyPlaybook = "apiVersion: riposte/v1\n" +
	"name: p\n" +
	"version: 1\n" +
	"trigger: {when: \"detection.severity_id >= 4\"}\n" +
	"steps:\n" +
	"  - id: a\n" +
	"    action: core.noop\n"

// validatePolicyDir is a directory holding playbooks/p.yaml, made the
// working directory, with RIPOSTE_POLICY unset.
func validatePolicyDir(t *testing.T) string {
	t.Helper()
	t.Setenv("RIPOSTE_POLICY", "")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "playbooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "playbooks", "p.yaml"), []byte(validatePolicyPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return dir
}

// The look-alike warning of policy.yaml (a protected pattern mixing
// scripts protects nothing) is shown by riposte validate too, as the
// worker would find the file (./policy.yaml, --policy, RIPOSTE_POLICY):
// file:line:col: warning: ... with the caret snippet, and it does not fail
// the check (the worker starts with it).
func TestValidateShowsPolicyWarnings(t *testing.T) {
	validatePolicyDir(t)
	if err := os.WriteFile("policy.yaml", []byte("protected:\n  hosts: [\"d\u0441-*\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := `policy.yaml:2:11: warning: protected.hosts[0]: "dс-*" mixes Latin and Cyrillic letters: "с" (U+0441) at column 13 is Cyrillic; a name spelt with the Latin letter it looks like does not match, so it is not protected` + "\n" +
		"   |   hosts: [\"dс-*\"]\n" +
		"   | ..........^\n"
	code, out, stderr := runCLI(t, "validate")
	if code != 0 || !strings.HasPrefix(out, want) || !strings.Contains(out, "ok: 1 playbook valid (1 file)") {
		t.Errorf("validate with ./policy.yaml: exit %d\nstdout:\n%s\nstderr:\n%s\nwant stdout starting\n%s", code, out, stderr, want)
	}

	// Named with --policy, or RIPOSTE_POLICY, as the worker takes it.
	if err := os.Rename("policy.yaml", "site.yaml"); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, "validate", "--policy", "site.yaml"); code != 0 || !strings.HasPrefix(out, "site.yaml:2:11: warning: ") {
		t.Errorf("validate --policy site.yaml: exit %d\n%s", code, out)
	}
	t.Setenv("RIPOSTE_POLICY", "site.yaml")
	if code, out, _ := runCLI(t, "validate"); code != 0 || !strings.HasPrefix(out, "site.yaml:2:11: warning: ") {
		t.Errorf("validate with RIPOSTE_POLICY=site.yaml: exit %d\n%s", code, out)
	}

	code, out, _ = runCLI(t, "validate", "--format", "json")
	var got struct {
		Valid       bool `json:"valid"`
		Diagnostics []struct {
			File, Severity, Message string
			Line, Col               int
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if code != 0 || !got.Valid || len(got.Diagnostics) != 1 || got.Diagnostics[0].File != "site.yaml" || got.Diagnostics[0].Severity != "warning" ||
		got.Diagnostics[0].Line != 2 || got.Diagnostics[0].Col != 11 || !strings.Contains(got.Diagnostics[0].Message, "mixes Latin and Cyrillic") {
		t.Errorf("validate --format json: exit %d\n%s", code, out)
	}
}

// A policy.yaml the worker would refuse fails riposte validate with its
// positions, beside the playbooks' problems; a --policy that does not
// exist fails as the worker refuses to start on it; without a policy
// file, or with --policy "", the output is the playbooks' alone.
func TestValidateChecksPolicyFile(t *testing.T) {
	validatePolicyDir(t)
	if err := os.WriteFile("policy.yaml", []byte("confidence_floor: 150\nbudgets:\n  - {action: core.noop, max: 1, per: 1h}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "validate")
	for _, want := range []string{
		"policy.yaml:1:19: confidence_floor must be between 0 and 100, got 150\n   | confidence_floor: 150\n",
		"policy.yaml:3:14: budgets[0].action: core.noop is not a contain action",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if code != 1 || stderr != "2 problems in 1 of 2 files\n" {
		t.Errorf("validate with a bad ./policy.yaml: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}

	code, out, stderr = runCLI(t, "validate", "--policy", "missing.yaml")
	if code != 1 || !strings.HasPrefix(out, "missing.yaml:1:1: ") || !strings.Contains(out, "no such file") {
		t.Errorf("validate --policy missing.yaml: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}

	for _, args := range [][]string{{"validate", "--policy", ""}, {"validate", "playbooks"}} {
		if args[1] == "playbooks" {
			if err := os.Remove("policy.yaml"); err != nil {
				t.Fatal(err)
			}
		}
		code, out, stderr = runCLI(t, args...)
		if code != 0 || out != "ok: 1 playbook valid (1 file)\n" || stderr != "" {
			t.Errorf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, stderr)
		}
	}
}

// The container image sets RIPOSTE_POLICY to where a deployment mounts its
// policy; `docker run IMAGE validate /pb` in a playbook repository's CI has
// none mounted. Named only by the environment, a missing policy file is not
// checked and says so on stderr, and the playbooks alone decide the exit;
// named with --policy, it is a problem, in validate's own words.
func TestValidatePolicyNamedOnlyByEnvMayBeAbsent(t *testing.T) {
	validatePolicyDir(t)
	t.Setenv("RIPOSTE_POLICY", "/etc/riposte/config/policy.yaml.absent")
	code, out, stderr := runCLI(t, "validate", "playbooks")
	if code != 0 || out != "ok: 1 playbook valid (1 file)\n" || !strings.Contains(stderr, "RIPOSTE_POLICY names /etc/riposte/config/policy.yaml.absent, which does not exist here: the policy is not checked") {
		t.Errorf("validate with RIPOSTE_POLICY naming no file: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "validate", "--policy", "missing.yaml", "playbooks")
	if code != 1 || !strings.HasPrefix(out, "missing.yaml:1:1: --policy missing.yaml: no such file") || strings.Contains(out, "not starting") {
		t.Errorf("validate --policy missing.yaml: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}

// The note on a policy named only by RIPOSTE_POLICY goes to stderr: with
// --format json, stdout stays one JSON document a CI step can parse, and
// it names no policy (none was checked).
func TestValidatePolicyEnvNoteKeepsJSON(t *testing.T) {
	validatePolicyDir(t)
	t.Setenv("RIPOSTE_POLICY", "/etc/riposte/config/policy.yaml.absent")
	code, out, stderr := runCLI(t, "validate", "--format", "json", "playbooks")
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON (%v):\n%s", err, out)
	}
	if _, named := got["policy"]; code != 0 || got["valid"] != true || named || !strings.Contains(stderr, "RIPOSTE_POLICY names") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}
