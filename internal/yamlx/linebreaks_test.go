package yamlx

import "testing"

// YAML 1.2 (and JSON, git, grep, every editor's line count) takes only LF
// and CR as line breaks; yaml.v3 also breaks lines at NEL (U+0085), LINE
// SEPARATOR (U+2028) and PARAGRAPH SEPARATOR (U+2029), as YAML 1.1 did.
// Text pasted from a web page or a document carries them: after one, every
// position was a line off (past the last line, a diagnostic fell back to
// column 1 of it), a double-quoted value lost the character (folded into
// a space), and one in a plain value was a syntax error. Each is now an
// ordinary character of the value.
func TestUnicodeLineSeparatorsAreText(t *testing.T) {
	for _, tc := range []struct{ name, sep string }{
		{"NEL", "\u0085"}, {"LINE SEPARATOR", "\u2028"}, {"PARAGRAPH SEPARATOR", "\u2029"},
	} {
		src := "description: \"Isolate the host" + tc.sep + "when dumping is seen\"\n" +
			"owner: soc" + tc.sep + "team\n" +
			"# a comment" + tc.sep + "still the comment\n" +
			"name: p\n"
		r := &Reporter{File: "f.yaml"}
		root, ok := Decode(r, []byte(src), Options{})
		if !ok || root == nil || len(r.Diags) > 0 {
			t.Errorf("%s: Decode: %v", tc.name, r.Diags)
			continue
		}
		es := Entries(root)
		if len(es) != 3 {
			t.Errorf("%s: %d entries, want 3", tc.name, len(es))
			continue
		}
		if got, want := es[0].Value.Value, "Isolate the host"+tc.sep+"when dumping is seen"; got != want {
			t.Errorf("%s: description = %q, want %q", tc.name, got, want)
		}
		if got, want := es[1].Value.Value, "soc"+tc.sep+"team"; got != want {
			t.Errorf("%s: owner = %q, want %q", tc.name, got, want)
		}
		if k := es[2].Key; k.Value != "name" || k.Line != 4 || k.Column != 1 {
			t.Errorf("%s: name at %d:%d (%q), want 4:1", tc.name, k.Line, k.Column, k.Value)
		}
	}
}
