package pbstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// A version an earlier release validated and stored (runs in flight refer
// to it) loads on a worker whose validation is stricter: approvers written
// as an email or listed twice (7f45705), an if written empty (8ad31a1) and
// the upper bounds of max_attempts and concurrency (5777d68) and durations
// written as time.ParseDuration reads them (.5h, +5m: dc416c4) are refused
// for authoring only. A version that cannot run (an unknown
// action, an expression that does not compile) is still refused, and the
// same file is still refused where playbooks are written and loaded.
func TestStoreLoadsVersionsAnEarlierReleaseValidated(t *testing.T) {
	const base = `apiVersion: riposte/v1
name: compat
version: 1
trigger:
  when: detection.severity_id >= 4
steps:
  - id: a
    action: core.log
    with: {message: hi}
`
	for _, tc := range []struct {
		name, extra, refused string
	}{
		{"email approver", "    approval:\n      approvers: {users: [U0ONE, lead@example.com]}\n", ""},
		{"approver twice", "    approval:\n      approvers: {users: [U0ONE, U0ONE], groups: [S0G, S0G]}\n", ""},
		{"empty if", "    if: ''\n", ""},
		{"durations time.ParseDuration takes", "    timeout: .5h\n    retry: {max_interval: +5m}\n", ""},
		{"bounds of 2026-12-05", "    for_each: [1, 2]\n    concurrency: 200\n    retry: {max_attempts: 5000}\n", ""},
		{"empty approval if", "    approval:\n      if: \"\"\n      approvers: {users: [U0ONE]}\n", ""},
		{"bad expression", "    if: 'detection.('\n", "steps[0].if"},
		{"empty var", "vars:\n  host: ''\n", "vars.host: expression is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := []byte(base + tc.extra)
			if _, diags := playbook.LoadBytes("compat.yaml", src, activities.Catalog()); diags == nil {
				t.Fatalf("validate accepts %q; the test needs a refused file", tc.extra)
			}
			dir := t.TempDir()
			digest := playbook.Digest(src)
			if err := os.WriteFile(filepath.Join(dir, digest+".yaml"), src, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.Get("compat", 1, digest)
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("a stored version an earlier release ran is refused: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("a stored version that cannot run: %v; want %q", err, tc.refused)
			case tc.refused == "" && c.Digest != digest:
				t.Fatalf("digest %s, want %s", c.Digest, digest)
			}
		})
	}
}

// A worker without a store directory finds versions in its playbooks
// directory only (RIPOSTE_PLAYBOOK_STORE unset): a file there that an
// earlier release validated is reported, and still found by digest for the
// runs in flight that refer to it.
func TestStoreScanKeepsFilesAnEarlierReleaseValidated(t *testing.T) {
	src := []byte(`apiVersion: riposte/v1
name: compat
version: 1
trigger:
  when: detection.severity_id >= 4
steps:
  - id: a
    action: core.log
    with: {message: hi}
    approval:
      approvers: {users: [lead@example.com]}
`)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compat.yaml"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := pbstore.New(activities.Catalog(), pbstore.Options{Paths: []string{dir}})
	if err == nil || !strings.Contains(err.Error(), "not a Slack user id") {
		t.Errorf("scan error %v; want the file reported", err)
	}
	if _, err := s.Get("compat", 1, playbook.Digest(src)); err != nil {
		t.Errorf("a version an earlier release validated, in the playbooks directory: %v", err)
	}
}
