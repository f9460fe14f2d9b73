package safefile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSame: one file named two ways is one file (another spelling, an
// absolute path, a link); two files, or a path to nothing beside a file,
// are not.
func TestSame(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, f := range []string{"a.yaml", "b.yaml"} {
		if err := os.WriteFile(f, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.yaml", "link.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"a.yaml", "./a.yaml", true},
		{"a.yaml", filepath.Join(dir, "a.yaml"), true},
		{"a.yaml", "link.yaml", true},
		{"missing.yaml", "./missing.yaml", true},
		{"a.yaml", "b.yaml", false},
		{"a.yaml", "missing.yaml", false},
	} {
		if got := Same(tt.a, tt.b); got != tt.want {
			t.Errorf("Same(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
