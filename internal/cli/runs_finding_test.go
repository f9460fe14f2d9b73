package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/api"
)

// TestPrintFindingConfidence: riposte runs show prints the view's
// confidence as finding.Confidence reads it (after the API's JSON: a
// float64), "unknown" when the view has none.
func TestPrintFindingConfidence(t *testing.T) {
	for _, tc := range []struct {
		conf any
		want string
	}{
		{85.0, "confidence 85,"},
		{0.0, "confidence 0,"},
		{nil, "confidence unknown,"},
	} {
		var b bytes.Buffer
		printFinding(&b, &api.RunDetail{Finding: map[string]any{"severity": "High", "confidence": tc.conf, "state": "active"}})
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("confidence %v: %q, want %q", tc.conf, b.String(), tc.want)
		}
	}
}
