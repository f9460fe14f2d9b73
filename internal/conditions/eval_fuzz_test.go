package conditions

import (
	"errors"
	"testing"
)

// FuzzEval: any expression compiles or fails with a position, and one
// that compiles evaluates to a value or an error, never a panic; the
// budget tests (budget_test.go, builtin_budget_test.go) bound what an
// evaluation may cost.
func FuzzEval(f *testing.F) {
	for _, s := range []string{`1 + 1`, `detection.severity_id >= 3`, `uniq([1, 1.0, "1"])`, `glob("*.exe", "a.exe")`,
		`split("a,b", ",")`, `fromJSON("[1]")`, `let r = 1..10; all(r, {# > 0})`, `repeat("a", 3)`, `toJSON(detection)`,
		`keys(detection)`, `date("2024-01-01").Year()`, `cidr_contains("10.0.0.0/8", "10.1.2.3")`, `item?.x ?? 1`,
		`detection.device?.hostname matches "^h"`, `sortBy([3, 1], #)`, `reduce(1..3, #acc + #, 0)`, `"a" in ["a"]`} {
		f.Add(s)
	}
	env := testEnv()
	f.Fuzz(func(t *testing.T, src string) {
		p, err := compile(src, ScopeStep, false)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Line < 1 || ce.Column < 1 || ce.Msg == "" {
				t.Fatalf("%q: bad compile error %#v", src, err)
			}
			return
		}
		_, _ = p.Eval(env)
	})
}
