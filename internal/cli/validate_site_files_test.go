package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validateSiteDir is a project laid out as README.md describes it, made
// the working directory: playbooks/p.yaml, and at the top policy.yaml
// (deploy/config/policy.yaml) and riposte.yaml (examples/riposte.yaml,
// whose secrets are env vars and files that a CI runner does not have).
func validateSiteDir(t *testing.T) string {
	t.Helper()
	pkg, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := validatePolicyDir(t)
	for f, from := range map[string]string{"policy.yaml": "../../deploy/config/policy.yaml", "riposte.yaml": "../../examples/riposte.yaml"} {
		src, err := os.ReadFile(filepath.Join(pkg, from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// riposte validate . at the top of a project read policy.yaml and
// riposte.yaml as playbooks: "playbook: unknown key \"protected\"",
// "missing required key \"apiVersion\"", ... and exit 1 for a valid
// project. policy.yaml is checked as the policy (once, though the walk
// and ./policy.yaml name it both) and riposte.yaml as the configuration;
// a problem of either, or of a playbook, is still reported.
func TestValidateDirWithSiteFiles(t *testing.T) {
	dir := validateSiteDir(t)
	code, out, stderr := runCLI(t, "validate", ".")
	if code != 0 || strings.Contains(out, "playbook:") || !strings.HasSuffix(out, "ok: 1 playbook valid (1 file)\n") {
		t.Fatalf("validate . of a valid project: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}

	// A policy problem, reported once, as the policy's.
	if err := os.WriteFile("policy.yaml", []byte("confidence_floor: high\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCLI(t, "validate", ".")
	if code != 1 || strings.Count(out, "policy.yaml:1:") != 1 || !strings.Contains(out, "confidence_floor") || strings.Contains(out, "playbook:") {
		t.Errorf("validate . with a bad policy.yaml: exit %d\nstdout:\n%s\nstderr:\n%s\nwant one policy diagnostic", code, out, stderr)
	}
	// From elsewhere, the project's policy.yaml is still checked as one.
	t.Chdir(t.TempDir())
	code, out, stderr = runCLI(t, "validate", dir)
	if code != 1 || strings.Count(out, "policy.yaml:1:") != 1 || strings.Contains(out, "playbook:") {
		t.Errorf("validate DIR with a bad DIR/policy.yaml: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	t.Chdir(dir)
	if err := os.WriteFile("policy.yaml", []byte("safe_mode: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A configuration problem, reported as the configuration's.
	if err := os.WriteFile("riposte.yaml", []byte("connections:\n  edr:\n    type: crowdstrik\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCLI(t, "validate", ".")
	if code != 1 || !strings.Contains(out, "riposte.yaml:3:11: connection edr: unknown type") || strings.Contains(out, "playbook:") {
		t.Errorf("validate . with a bad riposte.yaml: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if err := os.WriteFile("riposte.yaml", nil, 0o644); err != nil {
		t.Fatal(err)
	}

	// A broken playbook beside them.
	if err := os.WriteFile(filepath.Join("playbooks", "bad.yaml"), []byte("apiVersion: riposte/v1\nname: bad\nversion: 1\ntrigger: {when: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCLI(t, "validate", ".")
	if code != 1 || !strings.Contains(out, "playbooks/bad.yaml:1:1: playbook: missing required key \"steps\"") || strings.Count(out, "playbook:") != 1 {
		t.Errorf("validate . with a playbook without steps: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}
