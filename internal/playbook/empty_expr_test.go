package playbook_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// An expression written as an empty string is no expression: compiled to
// nothing, it validated and loaded, and then a `trigger.when: ""` panicked
// the intake on every detection (500 for every playbook's detections, not
// only this one's), an empty var or output panicked every run's workflow
// task (the run stuck in "Workflow Task in failed state"), and an empty
// `if` ran the step as if no condition were written. validate must refuse
// each, where it is written.
func TestEmptyExpressionsAreRefused(t *testing.T) {
	const steps = "  - id: a\n    action: core.noop\n"
	doc := func(trigger, step, rest string) []byte {
		return []byte("apiVersion: riposte/v1\nname: p\nversion: 1\ntrigger:\n  when: " + trigger + "\nsteps:\n" + steps + step + rest)
	}
	for _, tc := range []struct {
		src  []byte
		want string
	}{
		{doc(`""`, "", ""), `p.yaml:5:9: trigger.when: expression is empty`},
		{doc(`"  "`, "", ""), `p.yaml:5:10: trigger.when: expression is empty`},
		{doc("|\n    \n", "", ""), `p.yaml:5:9: trigger.when: expression is empty`},
		{doc("true", "    if: ''\n", ""), `p.yaml:9:9: steps[0].if: expression is empty`},
		{doc("true", "    approval:\n      if: \"\"\n", ""), `p.yaml:10:11: steps[0].approval.if: expression is empty`},
		{doc("true", "", "vars:\n  host: ''\n"), `p.yaml:10:9: vars.host: expression is empty`},
		{doc("true", "", "outputs:\n  done: \"\"\n"), `p.yaml:10:9: outputs.done: expression is empty`},
	} {
		_, diags := playbook.LoadBytes("p.yaml", tc.src, testCatalog(t))
		if !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("%s\nvalidated with %q; want %s", tc.src, diags.Error(), tc.want)
		}
	}
}

// `action: ""` is no action: it validated, and the step then failed every
// run with Temporal's "ActivityType is not set on command.".
func TestEmptyActionIsRefused(t *testing.T) {
	for _, action := range []string{`""`, `"  "`} {
		src := stepDoc("  - id: a\n    action: " + action + "\n")
		_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
		if want := `p.yaml:8:13: steps[0].action must not be empty`; !strings.Contains(diags.Error(), want) {
			t.Errorf("action: %s validated with %q; want %s", action, diags.Error(), want)
		}
	}
}
