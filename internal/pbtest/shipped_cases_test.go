package pbtest_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/pbtest"
)

// TestShippedPlaybookCases runs every shipped playbook's own test file
// (playbooks/NAME.test.yaml, what `riposte test playbooks/` runs in CI)
// from go test, so a case written against a guard the README promises
// fails here too: among them, compromised-account's executive named in
// evidences[] (OCSF 2004's actor) or as the finding's user, and
// contain-credential-theft's built-in accounts named DOMAIN\name without
// a SID (Sysmon's "NT AUTHORITY\NETWORK SERVICE", a German Windows'
// "NT-AUTORITÄT\SYSTEM").
func TestShippedPlaybookCases(t *testing.T) {
	files, err := filepath.Glob("../../playbooks/*.test.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped test files: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".test.yaml"), func(t *testing.T) {
			fr := (&pbtest.Runner{}).RunFile(f)
			if len(fr.Problems) > 0 {
				t.Fatalf("%s does not load: %v", f, fr.Problems)
			}
			for _, c := range fr.Cases {
				if len(c.Failures) > 0 {
					t.Errorf("%s: %s:\n    %s", filepath.Base(f), c.Name, strings.Join(c.Failures, "\n    "))
				}
			}
		})
	}
}
