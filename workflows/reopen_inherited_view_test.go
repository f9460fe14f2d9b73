package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// A rollback of the run that continues a withdrawn one leaves the holds it
// inherited to their release (a rollback undoes the run's own steps). The
// API tells the analyst which containment stays in place, with its
// targets and release time, and reads them from the holds query: an
// inherited hold has no step of this run to read its targets from, so the
// query (and the result) name them. Before, a hold carried no targets,
// and nothing said what an inherited hold kept contained.
func TestInheritedHoldsNameTheirTargets(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	// Someone else's isolation: the inherited hold is not taken over.
	h.action("defender.isolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		return map[string]any{"already": true, "preexisting": true}, nil
	})
	undo := &undoCalls{}
	h.action("defender.unisolate_machine", undo.fn(map[string]any{}))
	c := compileYAML(t, reopenPlaybook)
	until := h.env.Now().Add(30 * time.Minute)
	in := workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, ReopenedFrom: "run-a",
		Inherited: []workflows.InheritedHold{{Step: "isolate", Undo: "defender.unisolate_machine", Until: until,
			Targets: []map[string]any{{"hostname": "fin-ws-042"}, {"hostname": "fin-ws-043"}}}}}
	var live []map[string]any
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryHolds)
		if err != nil {
			t.Errorf("query holds: %v", err)
			return
		}
		if err := v.Get(&live); err != nil {
			t.Errorf("query holds: %v", err)
		}
	}, 10*time.Minute)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, in)
	if _, err := resultOf(h); err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0]["step"] != "inherited:isolate" || live[0]["inherited_from"] != "run-a" {
		t.Fatalf("holds query %v, want the inherited hold of run-a", live)
	}
	targets, _ := live[0]["targets"].([]any)
	if len(targets) != 2 {
		t.Fatalf("inherited hold %v: targets %v, want both hosts it holds", live[0], live[0]["targets"])
	}
	for i, want := range []string{"fin-ws-042", "fin-ws-043"} {
		if m, _ := targets[i].(map[string]any); m["hostname"] != want {
			t.Errorf("target %d = %v, want hostname %s", i, targets[i], want)
		}
	}
	if len(undo.steps) != 2 {
		t.Errorf("undo calls %v, want the inherited hold released on time (both hosts)", undo.steps)
	}
}
