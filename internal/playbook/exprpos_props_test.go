package playbook_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// An expression error points at the bad token inside the YAML
// (README, Validation) also when the scalar carries an anchor or a tag,
// or is a block scalar with an explicit indentation indicator (|2, >2-,
// needed when its first line starts with spaces): these fell back to the
// start of the value, on the header line, lines away from the token.
func TestExprErrorPositionsWithPropertiesAndIndicators(t *testing.T) {
	const head = "apiVersion: riposte/v1\nname: p\nversion: 1\ntrigger:\n  when: true\nsteps:\n  - id: a\n    action: core.noop\n"
	tests := []struct {
		name   string
		step   string // appended to the first step
		marker string // the error is at the first occurrence of marker...
		off    int    // ...plus off runes
	}{
		{"indentation indicator", "    if: |2\n        true &&\n        detection.b >< 1\n", "><", 1},
		{"indentation indicator, keep", "    if: |2+\n        true &&\n        detection.b >< 1\n", "><", 1},
		{"folded indentation indicator, strip", "    if: >2-\n        true &&\n        detection.b >< 1\n", "><", 1},
		{"indentation indicator, first line more indented", "    if: |2\n          true &&\n        detection.b >< 1\n", "><", 1},
		{"indentation indicator, error on the more indented first line", "    if: |2\n          detection.b >< 1 &&\n        true\n", "><", 1},
		{"anchor on a line of its own", "    if: &cond # why\n      detection.a >< 1\n", "><", 1},
		{"indicator before chomping", "    if: |-2\n        true &&\n        detection.b >< 1\n", "><", 1},
		{"anchored block", "    if: &cond |\n      true &&\n      detection.b >< 1\n", "><", 1},
		{"anchored block with indicator", "    if: &cond |2\n          true &&\n        detection.b >< 1\n", "><", 1},
		{"anchored plain", "    if: &cond detection.a >< 1\n", "><", 1},
		{"tagged plain", "    if: !!str detection.a >< 1\n", "><", 1},
		{"tagged double quoted", "    if: !!str \"detection.a >< 1\"\n", "><", 1},
		{"anchor and tag", "    if: &c !!str 'detection.a >< 1'\n", "><", 1},
		{"anchored template", "    with:\n      note: &n \"x ${{ detection.a >< 1 }}\"\n", "><", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := head + tt.step
			_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got:\n%v", diags)
			}
			line, col := posOf(t, src, tt.marker, tt.off)
			if d := diags[0]; d.Line != line || d.Col != col {
				lines := strings.Split(src, "\n")
				t.Errorf("%v\nwant position %d:%d\n%s\n%s^", d, line, col, lines[d.Line-1], strings.Repeat(" ", max(d.Col-1, 0)))
			}
		})
	}
}
