package playbook_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// A lone CR ends a line for YAML (1.1 and 1.2), for yaml.v3 and for
// editors (a file saved with classic Mac line ends, or one stray CR pasted
// into an LF file); the diagnostics counted only LF. After a lone CR every
// diagnostic lost its snippet, and one past the last LF-counted line was
// moved to column 1 of it: in a CR-only file every problem read 1:1.
func TestLoneCRIsALineEnd(t *testing.T) {
	for _, tc := range []struct{ name, eol1, eol string }{
		{"CR only", "\r", "\r"},
		{"one stray CR in an LF file", "\r", "\n"},
	} {
		src := "apiVersion: riposte/v1" + tc.eol1 + "name: p" + tc.eol + "version: 1" + tc.eol +
			"trigger:" + tc.eol + "  when: detection.severity_id >= 4 &&& 1" + tc.eol +
			"steps:" + tc.eol + "  - id: a" + tc.eol + "    action: core.noop" + tc.eol + "    timeout: 5x" + tc.eol
		_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
		var got []string
		for _, d := range diags {
			got = append(got, d.Pretty())
		}
		want := []string{
			"p.yaml:5:38: trigger.when: unexpected token Operator(\"&\")\n |   when: detection.severity_id >= 4 &&& 1\n | .....................................^",
			"p.yaml:9:14: steps[0].timeout: invalid duration \"5x\" (want e.g. 30s, 5m, 4h, 2d)\n |     timeout: 5x\n | .............^",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// The duplicate-name error of Load (two files naming one playbook) was
// placed in the file as given while its position is that of the file as
// Decode read it: in a CR-only file it read 1:1, without its line.
func TestLoneCRDuplicateNameSnippet(t *testing.T) {
	dir := t.TempDir()
	src := "apiVersion: riposte/v1\rname: p\rversion: 1\rtrigger:\r  when: \"true\"\rsteps:\r  - id: a\r    action: core.noop\r"
	for _, f := range []string{"a.yaml", "b.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, _, diags := playbook.Load([]string{dir}, testCatalog(t))
	if len(diags) != 1 || diags[0].Line != 2 || !strings.Contains(diags[0].Pretty(), " | name: p") {
		t.Errorf("want the duplicate name at line 2 with its line shown, got %v", diags)
	}
}
