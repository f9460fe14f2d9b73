package dispatch

import (
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
