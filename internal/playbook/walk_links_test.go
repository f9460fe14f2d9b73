package playbook_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestFilesKubernetesVolume: a ConfigMap (or projected) volume mounted as
// the playbook directory, laid out as kubelet's AtomicWriter writes it
// (testdata/links/README.md): a.yaml -> ..data/a.yaml, and for the items
// in a subdirectory team-a -> ..data/team-a, a symlink to a directory.
// Each playbook is read once, under its user-visible path (not the
// hidden ..data/ or timestamped one). The playbooks behind team-a were
// not read at all: the walk did not follow a symlinked subdirectory, so
// dev/serve started without them and validate did not check them.
func TestFilesKubernetesVolume(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "valid", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cat := testCatalog(t)
	dir := t.TempDir()
	t.Chdir(dir)
	ts := filepath.Join("cm", "..2026_12_07_23_13_57.123456789")
	if err := os.MkdirAll(filepath.Join(ts, "team-a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, "a.yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(string(src), "name: minimal", "name: team-a-minimal", 1)
	if err := os.WriteFile(filepath.Join(ts, "team-a", "b.yaml"), []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"..data": filepath.Base(ts),
		"a.yaml": filepath.Join("..data", "a.yaml"),
		"team-a": filepath.Join("..data", "team-a"),
	} {
		if err := os.Symlink(target, filepath.Join("cm", link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"cm", filepath.Join(dir, "cm")} {
		files, err := playbook.Files([]string{p})
		want := []string{filepath.Join(p, "a.yaml"), filepath.Join(p, "team-a", "b.yaml")}
		if err != nil || !slices.Equal(files, want) {
			t.Errorf("Files(%q) = %q, %v, want %q", p, files, err, want)
		}
		set, n, diags := playbook.Load([]string{p}, cat)
		if len(diags) > 0 || n != 2 || set == nil || len(set.Playbooks) != 2 {
			t.Errorf("Load(%q): %d files, diagnostics %v, want the two playbooks", p, n, diags)
		}
	}
}

// TestFilesSymlinkLoops: symlinks to directories are followed, and a
// directory reached again (a link to its parent, to the root, a second
// link to a shared directory) is walked once: the walk ends, each file
// once. A link loop (a -> b -> a) or a dangling link named like a
// playbook is reported at its path, with the reason; one named otherwise
// is no playbook and is ignored.
func TestFilesSymlinkLoops(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "valid", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cat := testCatalog(t)
	dir := t.TempDir()
	t.Chdir(dir)
	for _, d := range []string{filepath.Join("pb", "sub"), "shared"} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join("pb", "sub", "a.yaml"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(string(src), "name: minimal", "name: shared-minimal", 1)
	if err := os.WriteFile(filepath.Join("shared", "b.yaml"), []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		filepath.Join("pb", "sub", "up"):   "..",
		filepath.Join("pb", "sub", "self"): ".",
		filepath.Join("pb", "root"):        filepath.Join(dir, "pb"),
		filepath.Join("pb", "shared"):      filepath.Join("..", "shared"),
		filepath.Join("pb", "shared2"):     filepath.Join("..", "shared"),
		filepath.Join("pb", "x"):           "y",
		filepath.Join("pb", "y"):           "x",
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	files, err := playbook.Files([]string{"pb"})
	want := []string{filepath.Join("pb", "shared", "b.yaml"), filepath.Join("pb", "sub", "a.yaml")}
	if err != nil || !slices.Equal(files, want) {
		t.Errorf("Files(pb) = %q, %v, want %q", files, err, want)
	}
	set, n, diags := playbook.Load([]string{"pb"}, cat)
	if len(diags) > 0 || n != 2 || set == nil || len(set.Playbooks) != 2 {
		t.Errorf("Load(pb): %d files, diagnostics %v, want the two playbooks", n, diags)
	}

	// A loop and a dangling link named like playbooks: each reported at
	// its path, both at once.
	for link, target := range map[string]string{
		filepath.Join("pb", "l1.yaml"):   "l2.yaml",
		filepath.Join("pb", "l2.yaml"):   "l1.yaml",
		filepath.Join("pb", "gone.yaml"): "nowhere.yaml",
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	_, _, diags = playbook.Load([]string{"pb"}, cat)
	got := diags.Error()
	for _, w := range []string{
		filepath.Join("pb", "gone.yaml") + ":1:1: cannot read file:",
		filepath.Join("pb", "l1.yaml") + ":1:1: cannot read file:",
		filepath.Join("pb", "l2.yaml") + ":1:1: cannot read file:",
		"too many levels of symbolic links",
		"no such file or directory",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("Load(pb) diagnostics do not say %q:\n%s", w, got)
		}
	}
}
