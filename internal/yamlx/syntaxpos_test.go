package yamlx

import "testing"

// yaml.v3 reports a parser error at the line of the construct it was
// parsing (the step's mapping), not where the problem is. The diagnostic
// must name the line that is wrong: in a playbook of many steps, "7:1"
// points at the wrong step entirely.
func TestSyntaxErrorAtTheProblemLine(t *testing.T) {
	for _, tc := range []struct {
		src  string
		line int
	}{
		// a quoted scalar followed by more text
		{"apiVersion: riposte/v1\nsteps:\n  - id: a\n    action: core.noop\n    with:\n      x: 1\n    if: \"a\" + 1 > 2\n    name: n\n", 7},
		// a key less indented than its siblings, in a flow-free block
		{"a:\n  b: 1\n  c: 2\n d: 3\n", 4},
		// a list item inside a mapping
		{"a:\n  b: 1\n  - c\n", 3},
	} {
		r := &Reporter{File: "f.yaml"}
		if _, ok := Decode(r, []byte(tc.src), Options{}); ok {
			t.Errorf("%q decoded", tc.src)
			continue
		}
		if len(r.Diags) != 1 || r.Diags[0].Line != tc.line {
			t.Errorf("%q: got %v, want the error on line %d", tc.src, r.Diags, tc.line)
		}
	}
}
