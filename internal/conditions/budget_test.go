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
