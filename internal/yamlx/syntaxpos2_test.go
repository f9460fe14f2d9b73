package yamlx

import "testing"

// Two YAML errors were placed away from their cause: a tab that breaks the
// indentation was reported on the line before it (yaml.v3 names the line of
// the scalar it was scanning), and an alias of an anchor never defined at
// 1:1 (yaml.v3 gives that error no position at all). Each must point at
// its cause.
func TestSyntaxErrorAtTheCause(t *testing.T) {
	for _, tc := range []struct {
		src       string
		line, col int
	}{
		{"steps:\n  - id: a\n\taction: core.noop\n", 3, 1},
		{"a:\n  b: x\n  \tc: y\n", 3, 3},
		{"a: 1\nsteps:\n  - id: a\n    with: {host: *hots}\n", 4, 18},
		{"# *nope in a comment\na: [x, *nope]\n", 2, 8},
	} {
		r := &Reporter{File: "f.yaml"}
		if _, ok := Decode(r, []byte(tc.src), Options{}); ok {
			t.Errorf("%q decoded", tc.src)
			continue
		}
		if len(r.Diags) != 1 || r.Diags[0].Line != tc.line || r.Diags[0].Col != tc.col {
			t.Errorf("%q: got %v, want the error at %d:%d", tc.src, r.Diags, tc.line, tc.col)
		}
	}
}
