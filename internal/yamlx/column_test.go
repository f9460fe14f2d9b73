package yamlx

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// ValueColumn is the one place a character of a scalar's value is given a
// column (yamlx.NonASCII, policy's mixed-script warning): the column of
// the source line the node starts on, and only where the source spells the
// value as is up to that character. Where it does not (an escape, an
// anchor or a tag at the node's column, a block scalar, a value folded
// over lines) there is no column rather than a wrong one.
func TestValueColumn(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		i         int // rune index in the value
		col       int // 0: no column
	}{
		{"plain", "k: lo\u043ekup", 2, 6},
		{"plain first", "k: \u043eo", 0, 4},
		{"multi-byte before", "k: \u6771\u4eac\u043e", 2, 6},
		{"multi-byte key before", "\u043a\u043b\u044e\u0447: ab\u043e", 2, 9},
		{"single-quoted", "k: 'lo\u043ekup'", 2, 7},
		{"single-quoted, doubled quote before", "k: 'it''s \u043e'", 5, 0},
		{"single-quoted, doubled quote after", "k: 'a\u043e''s'", 1, 6},
		{"double-quoted", "k: \"lo\u043ekup\"", 2, 7},
		{"double-quoted, escape before", "k: \"\\u0041b\u043e\"", 2, 0},
		{"double-quoted, escape is the char", "k: \"\\u043eb\"", 0, 0},
		{"double-quoted, escape after", "k: \"a\u043e\\n\"", 1, 6},
		{"anchored", "k: &a lo\u043ekup", 2, 0},
		{"tagged", "k: !!str lo\u043ekup", 2, 0},
		{"tagged quoted", "k: !!str \"lo\u043ekup\"", 2, 0},
		// The node's column is the property's: the source after it can
		// spell the value's start by chance, and the column would be off.
		{"anchored quoted, anchor spells the start", "k: &lo \"lo\u043ekup\"", 1, 0},
		{"tagged quoted, tag spells the start", "k: !lo \"lo\u043ekup\"", 1, 0},
		{"anchored and tagged", "k: &a !!str lo\u043ekup", 2, 0},
		{"literal block", "k: |\n  lo\u043ekup\n", 2, 0},
		{"folded block", "k: >\n  lo\u043ekup\n", 2, 0},
		{"plain over two lines", "k: lo\n  \u043ekup\n", 3, 0},
		{"plain over two lines, first line", "k: l\u043e\n  kup\n", 1, 5},
		{"flow sequence", "k: [a, b\u043e]", 1, 9},
		{"CRLF", "x: 1\r\nk: a\u043e\r\n", 1, 5},
		{"byte order mark", "\ufeffk: a\u043e", 1, 5},
		{"past the end", "k: ab", 5, 0},
		{"negative", "k: ab", -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.src), &doc); err != nil {
				t.Fatal(err)
			}
			root := doc.Content[0]
			v := root.Content[len(root.Content)-1]
			if v.Kind == yaml.SequenceNode {
				v = v.Content[len(v.Content)-1]
			}
			col, ok := ValueColumn(v, []byte(tc.src), tc.i)
			if !ok {
				col = 0
			}
			if col != tc.col {
				t.Errorf("ValueColumn(%q, %d) = %d, %v; want %d", v.Value, tc.i, col, ok, tc.col)
			}
		})
	}
	if _, ok := ValueColumn(nil, []byte("k: a"), 0); ok {
		t.Error("nil node: a column")
	}
}

// TextPos is the line and rune column just past a prefix: the place of
// the next character, counting lines by LF.
func TestTextPos(t *testing.T) {
	for _, tc := range []struct {
		s         string
		line, col int
	}{
		{"", 1, 1},
		{"ab", 1, 3},
		{"a\nb", 2, 2},
		{"a\n", 2, 1},
		{"\u6771\u4eac", 1, 3},
		{"x\n\u043e\u043e", 2, 3},
	} {
		if l, c := TextPos(tc.s); l != tc.line || c != tc.col {
			t.Errorf("TextPos(%q) = %d:%d, want %d:%d", tc.s, l, c, tc.line, tc.col)
		}
	}
}
