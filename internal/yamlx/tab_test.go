package yamlx

import "testing"

// The character yaml.v3 calls one "that cannot start any token" is named:
// a tab (the commonest YAML mistake: an editor that indents with tabs; a
// whitespace-only line holding one), an @ or a backtick starting a plain
// value (Slack's @channel, a Markdown `code` span in a message). The
// generic message alone left the author to guess what is wrong with a
// line that looks right, the tab being invisible.
func TestCannotStartTokenNamesTheCharacter(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"a tab indenting a key", "a: 1\ntrigger:\n\twhen: true\n", 3, 1, "YAML syntax: found character that cannot start any token (a tab: YAML indents with spaces only)"},
		{"a line holding only a tab", "cases:\n  - name: a\n    expect: {}\n\t\n", 4, 1, "YAML syntax: found character that cannot start any token (a tab: YAML indents with spaces only)"},
		{"a tab in a CRLF file", "a: 1\r\ntrigger:\r\n\twhen: true\r\n", 3, 1, "YAML syntax: found character that cannot start any token (a tab: YAML indents with spaces only)"},
		{"a tab in a file whose lines end at CR", "a: 1\rtrigger:\r\twhen: true\r", 3, 1, "YAML syntax: found character that cannot start any token (a tab: YAML indents with spaces only)"},
		{"an @ after a byte order mark", "\ufeffa: @x\n", 1, 4, "YAML syntax: found character that cannot start any token (@ cannot start a plain value: quote the value)"},
		{"an @ starting a value", "a: 1\nwith:\n  message: @channel look\n", 3, 12, "YAML syntax: found character that cannot start any token (@ cannot start a plain value: quote the value)"},
		{"a backtick starting a value", "a: 1\nwith:\n  message: `code`\n", 3, 12, "YAML syntax: found character that cannot start any token (` cannot start a plain value: quote the value)"},
	} {
		r := &Reporter{File: "f.yaml"}
		if _, ok := Decode(r, []byte(tc.src), Options{}); ok {
			t.Errorf("%s: %q decoded", tc.name, tc.src)
			continue
		}
		if len(r.Diags) != 1 || r.Diags[0].Line != tc.line || r.Diags[0].Col != tc.col || r.Diags[0].Message != tc.msg {
			t.Errorf("%s: got %v, want f.yaml:%d:%d: %s", tc.name, r.Diags, tc.line, tc.col, tc.msg)
		}
	}
}
