package yamlx

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzDecode: whatever the input, Decode and the helpers never panic, stay
// within the budgets, and every diagnostic points inside the source.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"a: 1\n", "a: [1, 2\n", "- &a [x, x]\n- [*a, *a]\n", BillionLaughs("k", 2), "a: !!binary aGVsbG8=\n",
		"? [a]\n: b\n", "a: &x\n  b: *x\n", "%YAML 1.2\n---\na: 1\n...\n---\nb\n", "a:\n\tb: 1\n", "\"\\u00e9\": [~, 1.5, .inf, 0x1F, yes]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		r := &Reporter{File: "f.yaml"}
		root, ok := Decode(r, src, Options{MaxBytes: 1 << 16, MaxNodes: 5000})
		if ok && root != nil {
			if n, _ := Expanded(root, 5000); n > 5000 {
				t.Fatalf("Decode accepted %d nodes", n)
			}
			r.Value(root, "doc")
			for _, e := range Entries(root) {
				DidYouMean(e.Key.Value, []string{"name", "steps", "trigger"})
				r.Strings(e.Value, e.Key.Value)
			}
		}
		// A lone CR ends a line too (Decode reads it as LF: r.Src).
		lines := bytes.Count(r.Src, []byte("\n")) + 1
		for _, d := range r.Diags {
			if d.Line < 1 || d.Col < 1 || d.Line > lines || d.File != "f.yaml" || d.Message == "" {
				t.Fatalf("bad diagnostic %+v for %d lines", d, lines)
			}
			if d.Snippet != "" && strings.Count(d.Snippet, "\n") != 1 {
				t.Fatalf("snippet of more than two lines: %q", d.Snippet)
			}
		}
	})
}
