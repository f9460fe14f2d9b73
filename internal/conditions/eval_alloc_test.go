package conditions

import (
	"fmt"
	"runtime"
	"testing"
)

// shippedShapes are expressions shaped as the shipped playbooks write
// them: len, lower, contains, split and matches, each of which the budget
// meters (it charges what they scan), so nearly every expression runs with
// a meter.
var shippedShapes = map[string]string{
	"product": `lower(vars.product) contains "crowdstrike" ? "crowdstrike" : lower(vars.product) contains "sentinelone" ? "sentinelone" : ` +
		`lower(vars.product) matches "^microsoft .*defender( for endpoint| xdr| antivirus)?$" ? "defender" : "crowdstrike"`,
	"account": `split(lower(vars.user), "\\")[-1] in ["system", "local service", "network service", "root"]`,
	"len":     `len(vars.list) > 0 && len(vars.user) > 3 && lower(vars.title) contains "beacon"`,
}

func shapesEnv(extra int) map[string]any {
	env := (&Env{Detection: detection(), Vars: map[string]any{"product": "Microsoft Defender for Endpoint", "user": `CORP\alice`,
		"list": []any{"a", "b", "c"}, "title": "C2 Beacon to 1.2.3.4"}}).Map()
	for i := range extra {
		env[fmt.Sprintf("extra_%d", i)] = i
	}
	return env
}

// TestMeteredEvalDoesNotCopyEnv: since the budget charges what len, lower
// or contains scan, nearly every expression is metered, and a metered
// evaluation copied the whole env into a new map to carry its meter (about
// 700 bytes and a rehash of every key, for each `if`, trigger and
// template), which made an evaluation two to three times slower than
// before the scan charges. The meter now travels in a pooled map: what an
// evaluation allocates no longer depends on the size of its env.
func TestMeteredEvalDoesNotCopyEnv(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector empties sync.Pool at random")
	}
	for name, src := range shippedShapes {
		p, err := Compile(src, ScopeStep, false)
		if err != nil {
			t.Fatal(err)
		}
		if !p.metered {
			t.Fatalf("%s: not metered; the test needs a metered expression", name)
		}
		// Bytes allocated per evaluation, over many (a GC may empty the
		// pool now and then).
		bytes := func(env map[string]any) float64 {
			const n = 2000
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range n {
				if _, err := p.Eval(env); err != nil {
					t.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			return float64(after.TotalAlloc-before.TotalAlloc) / n
		}
		small, large := bytes(shapesEnv(0)), bytes(shapesEnv(64))
		if large > small+128 {
			t.Errorf("%s: %.0f bytes allocated per evaluation with 64 more env entries, %.0f without: the env is copied at each evaluation", name, large, small)
		}
	}
}

// TestEnvReadByExpressionIsItsOwn: an expression that returns $env gets
// a map no later evaluation empties or reuses.
func TestEnvReadByExpressionIsItsOwn(t *testing.T) {
	p, err := Compile(`len(vars.user) > 0 ? $env : nil`, ScopeStep, false)
	if err != nil {
		t.Fatal(err)
	}
	if !p.metered {
		t.Fatal("not metered; the test needs a metered expression")
	}
	out, err := p.Eval(shapesEnv(0))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := out.(map[string]any)
	n := len(got)
	for range 10 {
		if _, err := p.Eval(map[string]any{"vars": map[string]any{"user": "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	q, _ := Compile(`lower(vars.user) contains "a"`, ScopeStep, true)
	for range 10 {
		if _, err := q.Eval(map[string]any{"vars": map[string]any{"user": "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 || len(got) != n || got["vars"] == nil {
		t.Fatalf("the $env returned changed after later evaluations: %d entries, then %d", n, len(got))
	}
}

// BenchmarkEvalShippedShapes measures expressions shaped as the shipped
// playbooks write them (metered: they scan strings and lists).
func BenchmarkEvalShippedShapes(b *testing.B) {
	for name, src := range shippedShapes {
		b.Run(name, func(b *testing.B) {
			p, err := Compile(src, ScopeStep, false)
			if err != nil {
				b.Fatal(err)
			}
			env := shapesEnv(0)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Eval(env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
