package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// riposte validate . at the top of a real project reached its Kubernetes
// manifests and Compose file and reported them as broken playbooks
// (apiVersion must be riposte/v1, got "apps/v1"; missing required key
// "apiVersion"): exit 1 for a valid project. Another tool's YAML is
// skipped, and validate says so, one line per file on stderr (and in
// --format json, under skipped); a broken playbook beside it is still
// reported, and a project holding only other tools' YAML still fails
// (no playbook at all).
func TestValidateDirWithOtherToolsYAML(t *testing.T) {
	pkg, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := validatePolicyDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "deploy", "kubernetes"), 0o755); err != nil {
		t.Fatal(err)
	}
	for to, from := range map[string]string{
		"docker-compose.yml":                "compose-secrets.yaml",
		"deploy/kubernetes/worker.yaml":     "k8s-deployment.yaml",
		"deploy/kubernetes/configmaps.yaml": "k8s-configmaps.yaml",
	} {
		src, err := os.ReadFile(filepath.Join(pkg, "../playbook/testdata/other", from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, stderr := runCLI(t, "validate", ".")
	if code != 0 || out != "ok: 1 playbook valid (1 file)\n" {
		t.Fatalf("validate . of a project with a Compose file and Kubernetes manifests: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	for i, want := range []string{
		"deploy/kubernetes/configmaps.yaml: not a playbook, skipped: 2 documents: ConfigMap (v1)",
		"deploy/kubernetes/worker.yaml: not a playbook, skipped: Deployment (apps/v1)",
		"docker-compose.yml: not a playbook, skipped: a Compose file",
	} {
		if len(lines) != 3 || !strings.HasPrefix(lines[i], "riposte validate: "+want) {
			t.Errorf("stderr:\n%s\nwant line %d to start %q (one line per skipped file)", stderr, i+1, want)
			break
		}
	}

	code, out, _ = runCLI(t, "validate", "--format", "json", ".")
	var got struct {
		Valid   bool
		Files   int
		Skipped []struct{ File, Holds string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if code != 0 || !got.Valid || got.Files != 1 || len(got.Skipped) != 3 || got.Skipped[2].File != "docker-compose.yml" || !strings.Contains(got.Skipped[2].Holds, "Compose") {
		t.Errorf("validate --format json .: exit %d\n%s\nwant valid, 1 file, 3 skipped", code, out)
	}

	// A broken playbook beside them is reported.
	if err := os.WriteFile("playbooks/typo.yaml", []byte("apiVersion: ripost/v1\nkind: Playbook\nname: typo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCLI(t, "validate", ".")
	if code != 1 || !strings.Contains(out, "playbooks/typo.yaml:1:13: apiVersion must be riposte/v1") || strings.Contains(out, "docker-compose.yml") {
		t.Errorf("validate . with a misspelt apiVersion: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}

	// Only other tools' YAML: no playbook at all.
	code, out, stderr = runCLI(t, "validate", "deploy")
	if code != 1 || !strings.Contains(out, "no playbooks here") || !strings.Contains(stderr, "worker.yaml: not a playbook, skipped") {
		t.Errorf("validate deploy (manifests only): exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}
