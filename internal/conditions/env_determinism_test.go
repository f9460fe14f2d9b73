package conditions

import "testing"

// TestEnvSpelledOutIsDeterministic: a metered evaluation carries its
// meter in the env, and $env spelled out (string($env), as a template or
// a var may do) printed the meter's heap address, a different value at
// each evaluation and on each worker replaying the run. Since the scan
// charges (len, lower, contains are metered) that is nearly every
// expression. The same env must spell out the same.
func TestEnvSpelledOutIsDeterministic(t *testing.T) {
	for _, src := range []string{
		`len(vars.x) > 0 ? string($env) : ""`,
		`lower(vars.x) contains "y" ? string($env) : ""`,
	} {
		p, err := Compile(src, ScopeStep, false)
		if err != nil {
			t.Fatal(err)
		}
		env := func() map[string]any { return map[string]any{"vars": map[string]any{"x": "y"}} }
		a, err := p.Eval(env())
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.Eval(env())
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("%s: two evaluations of the same env gave %q and %q", src, a, b)
		}
	}
}
