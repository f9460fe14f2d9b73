package workflows_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// Every required param of a contain action with an undo names its target,
// so two calls compare as the same target only when all of them match: a
// connector added without its target key here would let a call on one
// resource cancel out, or release the hold of, a call on another.
func TestTargetKeysCoverCatalog(t *testing.T) {
	for _, a := range compileCatalog().Actions() {
		if a.Risk != catalog.RiskContain || a.Undo == "" || a.Undo == "core.noop" {
			continue
		}
		for _, p := range a.Params {
			if p.Required && !slices.Contains(workflows.TargetKeys(), p.Name) {
				t.Errorf("%s: required param %q is not a target key (workflows.targetKeys)", a.Name, p.Name)
			}
		}
	}
}

const awsTwoInstances = `apiVersion: riposte/v1
name: aws-two
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: aws.isolate_instance
    with: {instance_id: "i-aaaa"}
    approval: auto
    contain_for: 4h
  - id: restore_other
    action: aws.restore_instance
    needs: [isolate]
    with: {instance_id: "i-bbbb"}
    approval: auto
`

// Restoring instance i-bbbb does not release the hold on i-aaaa: its
// contain_for timer still lifts it, and the run contained i-aaaa.
func TestHoldNotReleasedByAnotherInstance(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	var mu sync.Mutex
	var calls []string
	rec := func(name string) func(context.Context, catalog.Call) (map[string]any, error) {
		return func(_ context.Context, c catalog.Call) (map[string]any, error) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, fmt.Sprintf("%s(%v)", name, c.Params["instance_id"]))
			return map[string]any{}, nil
		}
	}
	h.action("aws.isolate_instance", rec("isolate"))
	h.action("aws.restore_instance", rec("restore"))
	res, err := h.run(compileYAML(t, awsTwoInstances), det)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(calls, ","); got != "isolate(i-aaaa),restore(i-bbbb),restore(i-aaaa)" {
		t.Errorf("calls %s: i-aaaa's contain_for timer should lift it", got)
	}
	if res.Outcome != workflows.OutcomeContained {
		t.Errorf("outcome %s (%s), want contained", res.Outcome, res.OutcomeDetail)
	}
}

const awsTwoKeys = `apiVersion: riposte/v1
name: aws-keys
version: 1
trigger: {when: "true"}
steps:
  - id: disable_stolen
    action: aws.disable_access_key
    with: {access_key_id: "AKIASTOLEN", user_name: "svc"}
    approval: auto
  - id: enable_backup
    action: aws.enable_access_key
    needs: [disable_stolen]
    with: {access_key_id: "AKIABACKUP", user_name: "svc"}
    approval: auto
`

// Disabling one key and enabling another do not cancel out: a rollback
// undoes both, and the run contained the stolen key.
func TestDifferentKeysDoNotCancelOut(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	ok := func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil }
	h.action("aws.disable_access_key", ok)
	h.action("aws.enable_access_key", ok)
	res, err := h.run(compileYAML(t, awsTwoKeys), det)
	if err != nil {
		t.Fatal(err)
	}
	if undo := workflows.UndoCalls(res.Steps, res.Holds, compileCatalog()); len(undo) != 2 {
		t.Errorf("rollback plan %+v: two different keys were changed, both must be undone", undo)
	}
	if res.Outcome == workflows.OutcomeNotContained {
		t.Errorf("outcome %s (%s): AKIASTOLEN stays disabled", res.Outcome, res.OutcomeDetail)
	}
}

// The outcome detail names as the undo the step that ended later, wherever
// it is declared.
func TestOutcomeDetailNamesTheUndo(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		return map[string]any{}, nil
	})
	res, err := h.run(compileYAML(t, earlyReleaseDeclaredFirst), det)
	if err != nil {
		t.Fatal(err)
	}
	if res.OutcomeDetail != "isolate undone by step free" {
		t.Errorf("outcome detail %q", res.OutcomeDetail)
	}
}
