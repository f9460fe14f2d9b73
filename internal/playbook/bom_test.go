package playbook_test

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// An expression error on the first line of a file saved with a UTF-8 byte
// order mark points at the token, as on any other line (it fell back to
// the start of the value: the line held the mark, yaml.v3's columns not).
func TestExprErrorPositionAfterBOM(t *testing.T) {
	src := "\ufefftrigger: {when: \"detection.a >< 1\"}\napiVersion: riposte/v1\nname: p\nversion: 1\nsteps:\n  - id: a\n    action: core.noop\n"
	_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
	if len(diags) != 1 {
		t.Fatalf("want one diagnostic, got %v", diags)
	}
	// trigger: {when: "detection.a >< 1"}: the < is column 31.
	if d := diags[0]; d.Line != 1 || d.Col != 31 || d.Snippet != " | trigger: {when: \"detection.a >< 1\"}\n | ..............................^" {
		t.Errorf("got %s\n%s\nwant p.yaml:1:31 with the caret under the <", d, d.Snippet)
	}
}
