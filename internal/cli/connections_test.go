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
