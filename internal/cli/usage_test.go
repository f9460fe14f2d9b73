package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestUsageColumns: every command's summary starts in the same column,
// whatever the longest command name.
func TestUsageColumns(t *testing.T) {
	var b bytes.Buffer
	usage(&b)
	col := -1
	n := 0
	for _, c := range commands() {
		for _, line := range strings.Split(b.String(), "\n") {
			if !strings.HasPrefix(line, "  "+c.name+" ") {
				continue
			}
			i := strings.Index(line, c.summary)
			if col == -1 {
				col = i
			}
			if i != col || strings.TrimSpace(line[:i]) != c.name {
				t.Errorf("%q: summary at column %d, want %d", line, i, col)
			}
			n++
		}
	}
	if n != len(commands()) {
		t.Errorf("%d commands listed, want %d:\n%s", n, len(commands()), b.String())
	}
}
