package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
