package conditions

import (
	"strings"
	"testing"
)

// A misspelt name (or one the scope does not have) is a compile error
// with its position: `riposte validate` must refuse
// `affected_host(findng) != ""` as it refuses `findng.hosts`. Inside the
// arguments of a function Riposte declares (is_ip, affected_host,
// primary_*, attack_ids, glob, keys, values, timezone, ...) it compiled
// without a word: expr's checker does not check again the arguments of a
// call it has already typed, and the budget patch (a visitor) makes it
// type every call in a first pass whose errors it drops. Such a trigger
// evaluates the name as nil at run time and never matches: the playbook
// silently never runs.
func TestCompileChecksNamesInsideCalls(t *testing.T) {
	for _, tc := range []struct {
		src   string
		scope Scope
		col   int
		msg   string
	}{
		{`affected_host(findng) != ""`, ScopeTrigger, 15, "unknown name findng"},
		{`is_ip(detecton.src_ip)`, ScopeTrigger, 7, "unknown name detecton"},
		{`primary_user(finding) == "" && is_ip(item)`, ScopeTrigger, 38, "item is not available here"},
		{`len(attack_ids(detection)) > 0 || is_ip(nosuch)`, ScopeStep, 41, "unknown name nosuch"},
		{`glob("fin-*", vars.host) || glob("x", stepz.a.output)`, ScopeStep, 39, "unknown name stepz"},
	} {
		_, err := Compile(tc.src, tc.scope, true)
		e, ok := err.(*Error)
		if !ok || e.Line != 1 || e.Column != tc.col || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("Compile(%q) = %v; want 1:%d: %s", tc.src, err, tc.col, tc.msg)
		}
	}
}
