package pbtest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode: any playbook test file decodes or is refused with
// diagnostics that name a place (line and column from 1) and say
// something, never a panic. Detection files are looked up in an empty
// folder.
func FuzzDecode(f *testing.F) {
	for _, pattern := range []string{"testdata/*.test.yaml", "testdata/invalid/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	for _, s := range []string{"", "---", "cases: [{}]", "cases: [{detection: {a: &a [*a]}}]", "playbook: x\ncases:\n - name: a\n   detection_file: ../x.json\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		file, diags := Decode(filepath.Join(dir, "f.test.yaml"), src)
		if file == nil && len(diags) == 0 {
			t.Fatalf("no file and no diagnostic for %q", src)
		}
		for _, d := range diags {
			if d.Message == "" {
				t.Fatalf("empty diagnostic %+v for %q", d, src)
			}
			if d.Line < 0 || d.Col < 0 {
				t.Fatalf("diagnostic at %d:%d for %q", d.Line, d.Col, src)
			}
		}
	})
}
