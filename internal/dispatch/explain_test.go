package dispatch

import (
	"reflect"
	"testing"

	"github.com/riposte-dev/riposte/internal/finding"
)

func TestExplainExpr(t *testing.T) {
	det := map[string]any{"severity_id": 4, "finding_info": map[string]any{"title": "a && b (beacon)"}}
	env := map[string]any{"detection": det, "finding": finding.Build(det, finding.DefaultConfig())}
	tests := []struct {
		src     string
		held    bool
		decided string
	}{
		{`finding.severity_id >= 4 && (finding.confidence ?? 0) >= 60`, false, "`(finding.confidence ?? 0) >= 60` is false"},
		{`finding.severity_id >= 4 && finding.confidence == nil`, true, "all 2 conditions hold"},
		{`finding.confidence != nil || finding.title contains "beacon"`, true, "`finding.title contains \"beacon\"` is true"},
		{`(finding.severity_id > 4 or finding.severity == "Low") and true`, false, "`finding.severity_id > 4 or finding.severity == \"Low\"` is false (none of its 2 alternatives holds)"},
		{`finding.severity_id >= 4 && (finding.title contains "x" || lower(finding.title) contains "&& b")`, true, "all 2 conditions hold"},
		{`finding.state == "active" && (finding.severity_id < 2 || finding.severity_id > 9)`, false, "`finding.severity_id < 2 || finding.severity_id > 9` is false (none of its 2 alternatives holds)"},
	}
	for _, tt := range tests {
		held, why, err := explainExpr(tt.src, env)
		if err != nil || held != tt.held || why != tt.decided {
			t.Errorf("%s:\n got %v %q %v\nwant %v %q", tt.src, held, why, err, tt.held, tt.decided)
		}
	}
}

// TestSplitTopAndMatching: operators and brackets inside string literals
// (also after an escaped quote) and inside brackets do not count.
func TestSplitTopAndMatching(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want []string
	}{
		{`a || b`, []string{"a", "b"}},
		{`a or b or c`, []string{"a", "b", "c"}},
		{`color or b`, []string{"color", "b"}},
		{`x.or || y_or`, []string{"x.or", "y_or"}},
		{`"a || b" || c`, []string{`"a || b"`, "c"}},
		{`"a \" || b" || 'c || d' || ` + "`e || f`", []string{`"a \" || b"`, `'c || d'`, "`e || f`"}},
		{`f(a || b) || [c || d] || {"k": e || g}`, []string{"f(a || b)", "[c || d]", `{"k": e || g}`}},
		{`a ||`, []string{"a", ""}},
	} {
		if got := splitTop(tt.src, "||", "or"); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitTop(%s) = %q, want %q", tt.src, got, tt.want)
		}
	}
	for _, tt := range []struct {
		src  string
		want int
	}{
		{`(a)`, 2},
		{`(a ")" b) c`, 8},
		{`(a "\")" [b()]) c`, 14},
		{`(a "`, -1},
		{`((a)`, -1},
	} {
		if got := matching(tt.src, 0); got != tt.want {
			t.Errorf("matching(%s) = %d, want %d", tt.src, got, tt.want)
		}
	}
	for src, want := range map[string]string{`((a) && (b))`: `(a) && (b)`, `(a) && (b)`: `(a) && (b)`, `(")")`: `")"`} {
		if got := stripParens(src); got != want {
			t.Errorf("stripParens(%s) = %s, want %s", src, got, want)
		}
	}
}
