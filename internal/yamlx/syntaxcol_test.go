package yamlx

import "testing"

// yaml.v3 gives a scanner error (a second ':' in a plain value, a character
// that cannot start a value such as @ or `, an unknown escape in a double
// quoted string: a regex's \d) a line but no column, and a reader error (a
// byte that is not UTF-8, from a file saved as Windows-1252; a control
// character) no position at all. Every diagnostic is promised at
// file:line:col with a caret under its cause; these stood at column 1, the
// reader's at 1:1 whatever line the byte was on.
func TestSyntaxErrorAtItsCharacter(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"a second colon", "a: 1\ntrigger:\n  when: a: b\n", 3, 10, "YAML syntax: mapping values are not allowed in this context"},
		{"a second colon on line 1", "when: a: b\n", 1, 8, "YAML syntax: mapping values are not allowed in this context"},
		{"an @ starting a value", "a: 1\nwith:\n  message: @channel look\n", 3, 12, "YAML syntax: found character that cannot start any token (@ cannot start a plain value: quote the value)"},
		{"a backtick starting a value", "a: 1\nwith:\n  message: `code`\n", 3, 12, "YAML syntax: found character that cannot start any token (` cannot start a plain value: quote the value)"},
		{"an unknown escape after valid ones", "a: 1\nwhen: \"x matches \\\"a\\\\.exe\\\" || y matches \\\"C:\\\\\\d+\\\"\"\n", 2, 49, "YAML syntax: found unknown escape character"},
		{"an unknown escape on a later line of the string", "a: 1\nmsg: \"one\n  two \\d\"\n", 3, 7, "YAML syntax: found unknown escape character"},
		{"a bad hex escape", "a: 1\nb: \"x \\x4g\"\n", 2, 7, "YAML syntax: did not find expected hexdecimal number"},
		{"after a byte order mark", "\ufeffa: b: c\n", 1, 5, "YAML syntax: mapping values are not allowed in this context"},
		{"a Windows-1252 byte", "a: 1\nb: 2\nc: 3\ndescription: caf\xe9 au lait\n", 4, 17, "YAML syntax: invalid trailing UTF-8 octet (byte 0xE9 is not UTF-8; save the file as UTF-8)"},
		{"a string left open", "a: 1\nb: \"x\nc: d\n", 2, 4, "YAML syntax: found unexpected end of stream"},
		// yaml.v3 numbers a scanner error by the line its token started
		// on, except on line 1 (its "no line"): it then names the end of
		// the file, and the error read at the last line's column 1.
		{"a string left open on line 1", "a: \"x\nb: 1\nc: d\n", 1, 4, "YAML syntax: found unexpected end of stream"},
		{"a single-quoted string left open on line 1", "{a: 'x, b: 1,\n  c: d}\n", 1, 5, "YAML syntax: found unexpected end of stream"},
		{"a NUL", "a: 1\nname: p\x00\n", 2, 8, "YAML syntax: control characters are not allowed (character U+0000)"},
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
