package safefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 12, point 5: a playbook dir entry that is a symlink to /dev/zero is
// refused before anything is read; so is an oversized file.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(ok, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(ok, 10); err != nil || string(b) != "a: 1\n" {
		t.Fatalf("regular file: %q %v", b, err)
	}
	if _, err := ReadFile(ok, 3); err == nil || !strings.Contains(err.Error(), "the limit is 3") {
		t.Fatalf("oversized: %v", err)
	}
	zero := filepath.Join(dir, "zero.yaml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Skip(err)
	}
	if _, err := ReadFile(zero, MaxSize); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("/dev/zero: %v", err)
	}
}
