package finding_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake"
)

// TestConfidenceScoreAgreesWithIntake: the view reads confidence_score as
// intake validates it. A score intake accepts is the view's confidence; a
// score intake refuses (91.5 among them) is no confidence at all, never a
// truncated 91 or a rounded 92.
func TestConfidenceScoreAgreesWithIntake(t *testing.T) {
	v, err := intake.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, score := range []string{"0", "1", "80", "91", "91.0", "100", "91.5", "92.5", "0.5", "99.99", "100.5", "150", "-1", "1e2", "9.15e1"} {
		t.Run(score, func(t *testing.T) {
			body := fmt.Sprintf(`{"class_uid": 2004, "time": 1763458937000, "severity_id": 4, "confidence_score": %s,
				"metadata": {"product": {"name": "p"}}, "finding_info": {"uid": "u", "title": "t"}}`, score)
			dets, err := intake.Decode(strings.NewReader(body), intake.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			accepted := len(v.Validate(dets)) == 0
			want, _ := dets[0].Confidence()
			got := finding.Build(dets[0], finding.DefaultConfig())["confidence"]
			switch {
			case accepted && got != want:
				t.Errorf("intake accepts %s as %d, the view says %v", score, want, got)
			case !accepted && got != nil:
				t.Errorf("intake refuses %s, the view says %v", score, got)
			}
		})
	}
}
