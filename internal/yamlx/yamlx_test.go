package yamlx

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestKindName(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a: 1", "a mapping"},
		{"[1]", "a list"},
		{"~", "null"},
		{"null", "null"},
		{"1", "an integer"},
		{"1.5", "a number"},
		{"true", "a bool"},
		{"hello", "a string"},
		{`"1"`, "a string"},
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(tc.src), &doc); err != nil {
			t.Fatal(err)
		}
		if got := KindName(doc.Content[0]); got != tc.want {
			t.Errorf("KindName(%s) = %q, want %q", tc.src, got, tc.want)
		}
	}
	if got := KindName(nil); got != "nothing" {
		t.Errorf("KindName(nil) = %q", got)
	}
}

func TestDidYouMean(t *testing.T) {
	keys := []string{"needs", "action", "id", "timeout", "approval", "name"}
	for _, tc := range []struct{ got, want string }{
		{"neds", ` (did you mean "needs"?)`},
		{"acton", ` (did you mean "action"?)`},
		{"ID", ` (did you mean "id"?)`}, // case differs: still a suggestion
		{"Name", ` (did you mean "name"?)`},
		{"timeuot", ` (did you mean "timeout"?)`},
		{"colour", ""},
		{"approvers", ` (did you mean "approval"?)`},
		{"name", ""}, // already right: nothing to suggest
		{strings.Repeat("x", 300), ""},
		{"", ` (did you mean "id"?)`},
	} {
		if got := DidYouMean(tc.got, keys); got != tc.want {
			t.Errorf("DidYouMean(%.20q) = %q, want %q", tc.got, got, tc.want)
		}
	}
	if got := DidYouMean("x", nil); got != "" {
		t.Errorf("no candidates: %q", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"héllo", "hello", 1},
		{"nmae", "name", 1}, {"ab", "ba", 1}, {"stpes", "steps", 1}, {"ca", "abc", 3},
		{strings.Repeat("a", 257), "a", 1 << 20},
	} {
		if got := EditDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("EditDistance(%.10q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSnippet(t *testing.T) {
	src := []byte("a: 1\nversion: one\n\tb: x\n")
	for _, tc := range []struct {
		line, col int
		want      string
	}{
		{2, 10, " | version: one\n | .........^"},
		{1, 1, " | a: 1\n | ^"},
		{3, 2, " |  b: x\n | .^"},                    // a tab shows as one space
		{2, 13, " | version: one\n | ............^"}, // just past the end
		{2, 14, ""},
		{9, 1, ""},
		{2, 99, ""},
		{0, 1, ""},
	} {
		if got := Snippet(src, tc.line, tc.col); got != tc.want {
			t.Errorf("Snippet(%d:%d) =\n%s\nwant\n%s", tc.line, tc.col, got, tc.want)
		}
	}
	long := []byte(strings.Repeat("x", 500) + "Y")
	got := Snippet(long, 1, 501)
	lines := strings.Split(got, "\n")
	if len(lines) != 2 || len([]rune(lines[0])) > maxSnippetRunes+5 || strings.IndexRune(lines[1], '^') != len([]rune(lines[0][:strings.IndexRune(lines[0], 'Y')])) {
		t.Errorf("long line snippet:\n%s", got)
	}
	if got := Snippet([]byte("a\x1b[31mb"), 1, 1); strings.ContainsRune(got, 0x1b) {
		t.Errorf("terminal escape in snippet: %q", got)
	}
}

// TestDecodeGolden decodes every testdata/*.yaml and compares the
// diagnostics, with their caret snippets, with the .golden next to it.
func TestDecodeGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("testdata: %v, %d files", err, len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			r := &Reporter{File: filepath.Base(file)}
			root, ok := Decode(r, src, Options{MaxBytes: 4096, MaxNodes: 1000})
			if ok && root != nil {
				// Walk it the way a decoder does, to report its shape problems too.
				if fields, ok := r.Fields(root, "doc", "base", "name", "list", "count", "flag", "nested"); ok {
					if n := fields["name"]; n != nil {
						r.String(n, "name")
					}
					if n := fields["list"]; n != nil {
						r.StringList(n, "list")
					}
					if n := fields["count"]; n != nil {
						r.Int(n, "count", 1)
					}
					if n := fields["flag"]; n != nil {
						r.Bool(n, "flag")
					}
					if n := fields["nested"]; n != nil {
						r.Value(n, "nested")
					}
				}
			}
			var b strings.Builder
			for _, d := range r.Diags.Sort() {
				b.WriteString(d.Pretty() + "\n")
			}
			got := b.String()
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestDecodeBudgets(t *testing.T) {
	r := &Reporter{File: "f.yaml"}
	if root, ok := Decode(r, []byte(BillionLaughs("x", 0)), Options{}); ok || root != nil || len(r.Diags) != 1 {
		t.Fatalf("billion laughs: ok=%v diags=%v", ok, r.Diags)
	}
	d := r.Diags[0]
	// At the alias whose expansion crosses the budget.
	if d.Line < 3 || d.Line > 10 || d.Col < 5 || !strings.Contains(d.Message, "more than 100000 values") || d.Snippet == "" {
		t.Errorf("billion laughs diagnostic: %+v", d)
	}
	// A plain document of more nodes than the budget is refused too.
	big := "[" + strings.Repeat("1, ", 200) + "1]"
	r = &Reporter{File: "f.yaml"}
	if _, ok := Decode(r, []byte(big), Options{MaxNodes: 100}); ok {
		t.Error("a document over the node budget was accepted")
	}
	// Aliases under the budget work.
	r = &Reporter{File: "f.yaml"}
	root, ok := Decode(r, []byte("a: &x [1, 2]\nb: *x\n"), Options{})
	if !ok || len(r.Diags) != 0 {
		t.Fatalf("anchors: %v", r.Diags)
	}
	es := Entries(root)
	if len(es) != 2 || es[1].Value.Kind != SequenceNode || len(es[1].Value.Content) != 2 {
		t.Errorf("alias not resolved: %+v", es)
	}
	r = &Reporter{File: "f.yaml"}
	if _, ok := Decode(r, make([]byte, 11), Options{MaxBytes: 10}); ok || len(r.Diags) != 1 || r.Diags[0].Message != "file is 11 bytes; the limit is 10" {
		t.Errorf("size budget: %v", r.Diags)
	}
	for _, empty := range []string{"", "# nothing\n", "\n\n"} {
		r = &Reporter{File: "f.yaml"}
		if root, ok := Decode(r, []byte(empty), Options{}); !ok || root != nil || len(r.Diags) != 0 {
			t.Errorf("empty %q: root=%v ok=%v %v", empty, root, ok, r.Diags)
		}
	}
}

func TestDiagnostics(t *testing.T) {
	ds := Diagnostics{
		{File: "b", Line: 1, Col: 1, Message: "m"},
		{File: "a", Line: 2, Col: 1, Severity: SeverityWarning, Message: "w"},
		{File: "a", Line: 1, Col: 5, Severity: SeverityError, Message: "e"},
		{File: "a", Line: 1, Col: 5, Severity: SeverityError, Message: "e"},
	}.Sort()
	if got := ds.Error(); got != "a:1:5: e\na:2:1: warning: w\nb:1:1: m" {
		t.Errorf("sorted:\n%s", got)
	}
	if len(ds.Errors()) != 2 || len(ds.Warnings()) != 1 {
		t.Errorf("errors %v warnings %v", ds.Errors(), ds.Warnings())
	}
	if err := ds.Warnings().Err(); err != nil {
		t.Errorf("warnings only must not be an error: %v", err)
	}
	if err := ds.Err(); err == nil {
		t.Error("errors must be an error")
	}
}
