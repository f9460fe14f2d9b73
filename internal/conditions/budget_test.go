package conditions

import (
	"strings"
	"testing"
	"time"
)

// A playbook expression compiles once and is then evaluated in workflow
// code (vars, if, with, for_each, outputs) and by serve for every detection
// (trigger.when). Evaluating one must end, quickly, whatever it says: a
// loop that never ends pins a workflow task (and an intake request) on a
// core for good, and an allocation that outgrows memory kills the process
// with every run it hosts ("fatal error: runtime: out of memory" cannot be
// recovered).

// TestEvalNestedPredicatesEnd: expr charges a range against its memory
// budget once, so `let r = 1..1000` passes it, and four predicates nested
// over r are 10^12 iterations.
func TestEvalNestedPredicatesEnd(t *testing.T) {
	src := `let r = 1..1000; all(r, {all(r, {all(r, {all(r, {# > 0})})})})`
	p, err := Compile(src, ScopeTrigger, true)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.EvalBool((&Env{}).Map())
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("10^12 predicate iterations evaluated without an error")
		}
		if !strings.Contains(err.Error(), "budget") {
			t.Errorf("error %q does not say the expression is over its budget", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("evaluation still running after 5s (10^12 predicate iterations; nothing bounds them)")
	}
}

// What join and toJSON write is charged before it is built: the copies of
// join's separator, and toJSON's escapes of a string (< is \u003c), so a
// small expression cannot build hundreds of MB past the byte budget. A
// usual call still evaluates, and join(1, ",") is still a compile error.
func TestEvalJoinSeparatorAndJSONEscapesCharged(t *testing.T) {
	for _, src := range []string{
		`len(join(map(1..100, ""), repeat("x", 1000000)))`,
		`len(toJSON(repeat("<", 6000000)))`,
		`len(toJSON(toJSON(repeat("\\", 6000000))))`,
	} {
		p, err := Compile(src, ScopeVars, false)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if v, err := p.Eval((&Env{}).Map()); err == nil || !strings.Contains(err.Error(), "too expensive") {
			t.Errorf("%s = %v, %v; want over the byte budget", src, v, err)
		}
	}
	for src, want := range map[string]any{
		`join(["a", "b"], ", ")`:             "a, b",
		`toJSON("<b>")`:                      `"\u003cb\u003e"`,
		`toJSON(["x"])`:                      "[\n  \"x\"\n]",
		`join(map(1..3, string(#)), "-")`:    "1-2-3",
		`len(join(map(1..1000, "a"), "--"))`: 1000 + 999*2,
	} {
		p, err := Compile(src, ScopeVars, false)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if v, err := p.Eval((&Env{}).Map()); err != nil || v != want {
			t.Errorf("%s = %#v, %v; want %#v", src, v, err, want)
		}
	}
	if _, err := Compile(`join(1, ",")`, ScopeVars, false); err == nil {
		t.Error(`join(1, ",") compiles`)
	}
}
