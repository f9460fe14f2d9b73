package workflows

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// An inherited hold of several targets (a for_each step of the withdrawn
// run) marks the targets a step of the new run undid by their index
// (Hold.undone); the release skips them. A contain call of the new run
// that takes over one target drops it from the hold's targets: the marks
// of the targets after it moved to the wrong ones, so the release lifted
// a target a step had already undone and kept one still in place for
// good (no hold left for it).
func TestTookOverKeepsTheUndoneMarksOfTheOtherTargets(t *testing.T) {
	h1, h2, h3 := map[string]any{"hostname": "h1"}, map[string]any{"hostname": "h2"}, map[string]any{"hostname": "h3"}
	h := &Hold{Step: InheritedPrefix + "isolate", Undo: "edr.release", InheritedFrom: "run-a",
		params: []map[string]any{h1, h2, h3}, undone: map[int]bool{1: true}}
	r := &run{input: &Input{ReopenedFrom: "run-a"}, holds: []*Hold{h}}
	cs := &playbook.CStep{Step: &playbook.Step{ID: "isolate"}, Action: &catalog.Action{Risk: catalog.RiskContain, Undo: "edr.release"}}
	r.tookOver(cs, h1, map[string]any{"already": true})
	var released []string
	for n, p := range h.params {
		if !h.undone[n] {
			released = append(released, p["hostname"].(string))
		}
	}
	if len(released) != 1 || released[0] != "h3" {
		t.Errorf("the release would lift %v; want h3 only (h1 taken over, h2 undone by a step)", released)
	}
}
