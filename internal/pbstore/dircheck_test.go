package pbstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CheckDir is what New refuses, found without creating anything (riposte
// doctor calls it).
func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if w, err := CheckDir(dir); err != nil || !w {
		t.Errorf("existing dir: %v, %v", w, err)
	}
	missing := filepath.Join(dir, "a", "b")
	if w, err := CheckDir(missing); err != nil || !w {
		t.Errorf("creatable dir: %v, %v", w, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Error("CheckDir created a directory")
	}
	for _, tc := range []struct{ dir, want string }{
		{file, "playbook store " + file + " is not a directory"},
		{filepath.Join(file, "x"), "playbook store " + filepath.Join(file, "x") + " cannot be created: " + file + " is not a directory"},
	} {
		if _, err := CheckDir(tc.dir); err == nil || err.Error() != tc.want {
			t.Errorf("CheckDir(%s) = %v, want %q", tc.dir, err, tc.want)
		}
		if _, err := New(nil, Options{Dir: tc.dir}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) = %v, want %q", tc.dir, err, tc.want)
		}
	}
}
