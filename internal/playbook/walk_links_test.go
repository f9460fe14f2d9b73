package playbook_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// TestFilesLinkedOnce: one file reached through a link is one file, as
// safefile.Same says: a playbook directory holding a.yaml and a symlink
// b.yaml -> a.yaml (a shared playbook linked in), an absolute symlink, a
// hard link, or the directory named twice, once through a symlink to it.
// Read twice, the playbook refused the whole set as a duplicate of
// itself ("duplicate playbook name").
func TestFilesLinkedOnce(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "valid", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cat := testCatalog(t)
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("pb", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("pb", "a.yaml"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, link := range []func() error{
		func() error { return os.Symlink("a.yaml", filepath.Join("pb", "b.yaml")) },
		func() error { return os.Symlink(filepath.Join(dir, "pb", "a.yaml"), filepath.Join("pb", "c.yaml")) },
		func() error { return os.Link(filepath.Join("pb", "a.yaml"), filepath.Join("pb", "d.yaml")) },
		func() error { return os.Symlink("pb", "linked") },
	} {
		if err := link(); err != nil {
			t.Fatal(err)
		}
	}
	for _, paths := range [][]string{
		{"pb"},
		{"pb", "linked/"},
		{"pb/a.yaml", "linked/a.yaml"},
		{"pb/b.yaml", "pb/a.yaml"},
	} {
		files, err := playbook.Files(paths)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 1 {
			t.Errorf("Files(%q) = %q, want the one file once", paths, files)
		}
		set, n, diags := playbook.Load(paths, cat)
		if len(diags) > 0 || n != 1 || set == nil || len(set.Playbooks) != 1 {
			t.Errorf("Load(%q): %d files, diagnostics %v, want the one playbook once", paths, n, diags)
		}
	}
}

// TestFilesSymlinkedDirectory: a playbook directory named through a
// symlink to it (--playbooks /etc/riposte/playbooks linking to a release's
// directory) is walked as the directory it is. It was not walked at all
// (filepath.WalkDir does not follow a root that is a symlink): riposte
// validate said "no playbooks here", and start-up loaded none.
func TestFilesSymlinkedDirectory(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "valid", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cat := testCatalog(t)
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll(filepath.Join("release", "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("release", "sub", "a.yaml"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("release", "playbooks"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"playbooks", filepath.Join(dir, "playbooks"), "./playbooks"} {
		files, err := playbook.Files([]string{p})
		want := filepath.Join(p, "sub", "a.yaml")
		if err != nil || len(files) != 1 || files[0] != want {
			t.Errorf("Files(%q) = %q, %v, want [%s]", p, files, err, want)
		}
		set, n, diags := playbook.Load([]string{p}, cat)
		if len(diags) > 0 || n != 1 || set == nil || len(set.Playbooks) != 1 {
			t.Errorf("Load(%q): %d files, diagnostics %v, want the one playbook", p, n, diags)
		}
	}
}
