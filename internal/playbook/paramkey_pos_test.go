package playbook_test

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// An unknown param is a misspelled key: the caret goes under the key, as it
// does for an unknown key anywhere else in a playbook, not under its value
// (which may be on another line, or a whole block below).
func TestUnknownParamPointsAtKey(t *testing.T) {
	cat := testCatalog(t)
	for _, tc := range []struct {
		name, with string
		line, col  int
	}{
		{"flow", "    with: {hostname: a, hostnme: b}\n", 10, 25},
		{"block", "    with:\n      hostname: a\n      hostnme: b\n", 12, 7},
		{"block, value below", "    with:\n      hostname: a\n      hostnme:\n        - b\n", 12, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := stepDoc("  - id: a\n    action: edr.contain_host\n    approval: auto\n" + tc.with)
			_, diags := playbook.LoadBytes("p.yaml", []byte(src), cat)
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got %v", diags)
			}
			if d := diags[0]; d.Line != tc.line || d.Col != tc.col {
				t.Errorf("%s: at %d:%d, want %d:%d (the key)", d.Message, d.Line, d.Col, tc.line, tc.col)
			}
		})
	}
}
