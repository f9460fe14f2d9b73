package dispatch

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/conditions"
	"github.com/riposte-dev/riposte/internal/finding"
)

// `riposte submit --explain` (?explain=true) says, per playbook, whether
// its trigger holds: that verdict must be the trigger's own. Splitting the
// trigger on || and && by hand, explainExpr split inside a comment (an
// "or" in `// high or critical`) and across a top-level ternary (which
// binds looser than ||), evaluated a fragment, and reported a playbook as
// matching a detection the real trigger does not match (and the reverse).
func TestExplainVerdictIsTheTriggers(t *testing.T) {
	det := map[string]any{"severity_id": 5, "confidence_score": 20}
	env := map[string]any{"detection": det, "finding": finding.Build(det, finding.DefaultConfig())}
	for _, src := range []string{
		"finding.severity_id >= 4 // high or critical\n  && (finding.confidence ?? 0) >= 80",
		"finding.severity_id >= 4 /* high || critical */ && (finding.confidence ?? 0) >= 80",
		"(finding.confidence ?? 0) >= 80 // and sure\n  || finding.severity_id > 9",
		"finding.severity_id >= 5 || finding.severity_id == 4 ? (finding.confidence ?? 0) >= 80 : false",
		"finding.severity_id < 3 && finding.severity_id > 0 ? true : finding.severity_id == 5",
	} {
		prog, err := conditions.Compile(src, conditions.ScopeTrigger, true)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		want, err := prog.EvalBool(env)
		if err != nil {
			t.Fatal(err)
		}
		held, why, err := explainExpr(src, env)
		if err != nil || held != want {
			t.Errorf("%q: explain says held=%v (%s, %v); the trigger is %v", src, held, why, err, want)
		}
	}
}
