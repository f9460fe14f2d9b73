package cli

import (
	"bytes"
	"context"
	"flag"
	"path/filepath"
	"strings"
	"testing"
)

// TestWorkerRefusesMissingExplicitPolicy: docker-compose.yml and
// deploy/kubernetes set RIPOSTE_POLICY to the shipped policy.yaml. When
// that file is not there (a config dir not mounted, a ConfigMap key
// renamed, a typo in --policy), the worker started anyway, silently,
// with no site guardrails at all (no protected assets, no budgets, no
// confidence floor), and riposte doctor only skipped the check. The
// implicit default (./policy.yaml) stays optional; a path someone named
// must exist.
func TestWorkerRefusesMissingExplicitPolicy(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "polcy.yaml")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"policy flag", nil, []string{"worker", "--policy", missing}},
		{"policy env", map[string]string{"RIPOSTE_POLICY": missing}, []string{"worker"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			// Everything else in order: without the check, the worker goes
			// on to dial Temporal and never names the file.
			t.Setenv("RIPOSTE_CODEC_KEYS", testCodecKeys)
			t.Setenv("RIPOSTE_CODEC_KEY_FILE", "")
			var out, errb bytes.Buffer
			code := Main(context.Background(), append(tc.args, "--temporal-address", "127.0.0.1:1"), Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
			if code != 2 || !strings.Contains(errb.String(), missing) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 naming %s", code, errb.String(), missing)
			}
		})
	}
	// The implicit defaults stay optional: no policy.yaml or riposte.yaml in
	// the working directory is not this error.
	t.Setenv("RIPOSTE_CODEC_KEYS", testCodecKeys)
	t.Chdir(dir)
	var out, errb bytes.Buffer
	Main(context.Background(), []string{"worker", "--temporal-address", "127.0.0.1:1"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if strings.Contains(errb.String(), "policy.yaml") || strings.Contains(errb.String(), "riposte.yaml") {
		t.Errorf("the implicit defaults are optional, got:\n%s", errb.String())
	}
}

const testCodecKeys = `{"active": "k1", "keys": {"k1": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}`

// --policy "" asks for no policy on purpose: not a missing file.
func TestEmptyPolicyFlagMeansNone(t *testing.T) {
	t.Setenv("RIPOSTE_POLICY", "")
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var f runtimeFlags
	f.register(fs)
	if err := fs.Parse([]string{"--policy", ""}); err != nil {
		t.Fatal(err)
	}
	if err := f.checkFiles(); err != nil || f.Policy != "" {
		t.Errorf("--policy \"\": %v (policy %q); want no policy, no error", err, f.Policy)
	}
	if err := fs.Parse([]string{"--policy", filepath.Join(t.TempDir(), "polcy.yaml")}); err != nil {
		t.Fatal(err)
	}
	if err := f.checkFiles(); err == nil {
		t.Error("a named missing policy file was accepted")
	}
}
