package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/lab"
)

// riposte connections check --lab: every lab connection answers its check.
func TestConnectionsCheckLab(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"connections", "check", "--lab"}, Streams{Out: &out, Err: &errb})
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"ok  ", "crowdstrike (crowdstrike)", "aws (aws)", "credentials of arn:aws:iam::", "skipped", "pagerduty (pagerduty)", " failed, "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// The lab's aws connection written as riposte.yaml (what an operator
// writes: endpoints lose their trailing slash, the secret comes from env)
// passes its check through the config loader.
func TestConnectionsCheckAWSFromConfigFile(t *testing.T) {
	l, err := lab.Start(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := l.Connections()["aws"]
	var b strings.Builder
	b.WriteString("connections:\n  aws:\n    type: aws\n    secret_access_key: {env: RIPOSTE_TEST_AWS_SECRET}\n")
	for k, v := range c.Options {
		if strings.HasSuffix(k, "_endpoint") {
			v += "/" // the loader trims it again
		}
		fmt.Fprintf(&b, "    %s: %s\n", k, v)
	}
	t.Setenv("RIPOSTE_TEST_AWS_SECRET", c.Secrets["secret_access_key"].Lab)
	path := filepath.Join(t.TempDir(), "riposte.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"connections", "check", "--config", path}, Streams{Out: &out, Err: &errb}); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "ok  ") {
		t.Errorf("output:\n%s", out.String())
	}
}

// A misspelt connections: key is an error with its position, not a
// successful check of nothing ("0 connections: 0 ok", exit 0).
func TestConnectionsCheckWithoutConnectionsKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.yaml")
	if err := os.WriteFile(path, []byte("conections:\n  cs: {type: crowdstrike}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"connections", "check", "--config", path}, Streams{Out: &out, Err: &errb})
	if code != 1 || strings.Contains(out.String(), "0 connections") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		path + `:1:1: ` + path + ` has no connections: key (is "conections" a misspelling of connections?)`,
		path + `:1:1: warning: unknown top-level key "conections" (did you mean "connections"?)`,
		" | conections:\n | ^",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}

// The warnings of riposte.yaml (here a secret file others may read) are
// printed with their position, not dropped.
func TestConnectionsCheckPrintsWarnings(t *testing.T) {
	l, err := lab.Start(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := l.Connections()["aws"]
	dir := t.TempDir()
	secret := filepath.Join(dir, "aws_secret")
	if err := os.WriteFile(secret, []byte(c.Secrets["secret_access_key"].Lab), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "connections:\n  aws:\n    type: aws\n    secret_access_key: {file: %s}\n", secret)
	for k, v := range c.Options {
		fmt.Fprintf(&b, "    %s: %s\n", k, v)
	}
	path := filepath.Join(dir, "riposte.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	Main(context.Background(), []string{"connections", "check", "--config", path}, Streams{Out: &out, Err: &errb})
	if want := path + ":4:31: warning: connection aws: secret_access_key: file " + secret + " is readable by group or others (mode 0644)"; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errb.String())
	}
}
