package playbook_test

import (
	"path/filepath"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// `riposte validate playbooks/*.yaml` (a shell glob, or the file list a
// pre-commit hook passes) names the test files beside the playbooks too.
// Each was validated as a playbook and refused (unknown key "cases",
// missing apiVersion, ...), so a healthy directory failed validation; the
// usage says test files are skipped, and `riposte test playbooks/*.yaml`
// takes the same list in stride.
func TestLoadSkipsNamedTestFiles(t *testing.T) {
	paths, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil || len(paths) != 5 {
		t.Fatalf("glob: %v %v", paths, err)
	}
	set, n, diags := playbook.Load(paths, testCatalog(t))
	if diags != nil {
		t.Fatalf("riposte validate testdata/valid/*.yaml:\n%v", diags)
	}
	if n != 4 || len(set.Playbooks) != 4 {
		t.Errorf("read %d files, %d playbooks; want 4 and 4 (minimal.test.yaml skipped)", n, len(set.Playbooks))
	}
}
