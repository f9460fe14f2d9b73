package playbook

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFilesOverlappingPathsOnce: a file reached by two of the paths
// given, spelt differently (a directory and a file in it, "./x" and "x",
// an absolute path), is read once: read twice, a playbook was reported
// as a duplicate of itself ("playbook name … already used") and a site
// file checked twice.
func TestFilesOverlappingPathsOnce(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("pb", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("pb", "a.yaml"), []byte("name: a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "pb", "a.yaml")
	for _, paths := range [][]string{
		{"pb", "./pb/a.yaml"},
		{"pb/a.yaml", "pb"},
		{".", "pb/a.yaml"},
		{"pb", abs},
		{"./pb", "pb/"},
	} {
		files, err := Files(paths)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 1 {
			t.Errorf("Files(%q) = %q, want the one file once", paths, files)
		}
	}
}
