package yamlx

import "testing"

// A file saved with a UTF-8 byte order mark (Windows editors do) is read
// without it: yaml.v3 does not count it as a column, so the caret of a
// diagnostic on the first line must not either (it stood one column left
// of the position, and the snippet showed the mark).
func TestSnippetFirstLineAfterBOM(t *testing.T) {
	src := []byte("\ufeffapiVersion: riposte/v2\nname: p\n")
	if got, want := Snippet(src, 1, 13), " | apiVersion: riposte/v2\n | ............^"; got != want {
		t.Errorf("Snippet(1:13) =\n%s\nwant\n%s", got, want)
	}
	if got, want := Snippet(src, 2, 1), " | name: p\n | ^"; got != want {
		t.Errorf("Snippet(2:1) =\n%s\nwant\n%s", got, want)
	}
	r := &Reporter{File: "f.yaml"}
	root, ok := Decode(r, src, Options{})
	if !ok || root == nil {
		t.Fatalf("Decode: %v", r.Diags)
	}
	if v := root.Content[1]; v.Line != 1 || v.Column != 13 {
		t.Errorf("yaml.v3 placed the value at %d:%d, want 1:13", v.Line, v.Column)
	}
}
