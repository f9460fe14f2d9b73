package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreateNamespaceKeepsLongerRetention: create-namespace.sh is re-run
// after every upgrade (docs/operations.md) and must behave as the compose
// and Kubernetes jobs, which give the retention through the environment
// only: `riposte setup` then never shortens a retention an operator raised
// (internal/engine SetupOptions.Shorten). Only an explicit --retention,
// passed by the caller as an extra argument, may shorten it.
func TestCreateNamespaceKeepsLongerRetention(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "riposte")
	// The fake riposte prints its arguments and the retention it was given.
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"args: $*\"\necho \"env: NAMESPACE_RETENTION=${NAMESPACE_RETENTION:-}\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command("sh", append([]string{filepath.Join(root, "deploy", "temporal", "create-namespace.sh")}, args...)...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "RIPOSTE=" + fake}, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("create-namespace.sh: %v\n%s", err, out)
		}
		return string(out)
	}
	for _, env := range [][]string{nil, {"NAMESPACE_RETENTION=720h"}} {
		out := run(env)
		if strings.Contains(out, "--retention") {
			t.Errorf("with %v, create-namespace.sh passes --retention to riposte setup, which then shortens a longer retention (deleting closed runs) on every re-run:\n%s", env, out)
		}
	}
	if out := run([]string{"NAMESPACE_RETENTION=720h"}); !strings.Contains(out, "NAMESPACE_RETENTION=720h") {
		t.Errorf("NAMESPACE_RETENTION does not reach riposte setup:\n%s", out)
	}
	// Shortening stays possible, explicitly.
	if out := run(nil, "--retention", "72h"); !strings.Contains(out, "--retention 72h") {
		t.Errorf("an explicit --retention does not reach riposte setup:\n%s", out)
	}
}
