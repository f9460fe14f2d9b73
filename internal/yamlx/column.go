package yamlx

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// ValueColumn is the column, on the source line the scalar n starts on, of
// the i-th character (rune) of its value, when the source spells the value
// as is up to that character on that line: plain, or quoted without an
// escape or a doubled quote before it. ok is false otherwise (an anchor or
// a tag at the node's column, whose column the node's is; a block scalar;
// a value folded onto the next line before it): no column rather than a
// wrong one. src is the source the node was decoded from (Reporter.Src
// after Decode, whose lines are counted as yaml.v3 counted them).
func ValueColumn(n *yaml.Node, src []byte, i int) (col int, ok bool) {
	if n == nil || n.Anchor != "" || n.Style&yaml.TaggedStyle != 0 || i < 0 {
		return 0, false
	}
	// yaml.v3 reads a byte order mark as no column.
	lines := sourceLines([]byte(strings.TrimPrefix(string(src), bom)))
	if n.Line < 1 || n.Line > len(lines) || n.Column < 1 {
		return 0, false
	}
	line := []rune(lines[n.Line-1])
	start := n.Column - 1
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
		start++
	} else if n.Style != 0 {
		return 0, false
	}
	value := []rune(n.Value)
	if i >= len(value) || start+i >= len(line) || string(line[start:start+i+1]) != string(value[:i+1]) {
		return 0, false
	}
	return start + i + 1, true
}

// TextPos is the 1-based line and rune column just past prefix: where the
// character after it is, lines counted by LF.
func TextPos(prefix string) (line, col int) {
	line = 1 + strings.Count(prefix, "\n")
	return line, 1 + utf8.RuneCountInString(prefix[strings.LastIndexByte(prefix, '\n')+1:])
}
