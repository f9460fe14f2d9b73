package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// The run that continues a withdrawn one starts with the holds it
// inherited, and one may be due already (it fell due while the withdrawn
// run finished its steps), or fall due while the new run's own contain
// call on the target is in flight. The release and the call ran side by
// side: the call found the host still isolated and took it over (the
// withdrawn run applied it), and the release then lifted it: the step
// holds a containment that is gone while the finding is active again. Or
// the other way round. The release of an inherited hold and a contain
// call with its undo action now never run at the same time: the call
// finds what the release left, and the release skips what the call took
// over.
func TestInheritedReleaseAndTakeOverDoNotOverlap(t *testing.T) {
	for _, due := range []time.Duration{-time.Minute, 0} {
		h, _ := outcomeHarness(t, false)
		var mu sync.Mutex
		inFlight := map[string]bool{}
		var overlap []string
		track := func(name string, out map[string]any) func(context.Context, catalog.Call) (map[string]any, error) {
			return func(_ context.Context, call catalog.Call) (map[string]any, error) {
				mu.Lock()
				for other := range inFlight {
					overlap = append(overlap, call.StepID+" while "+other)
				}
				inFlight[call.StepID] = true
				mu.Unlock()
				time.Sleep(100 * time.Millisecond)
				mu.Lock()
				delete(inFlight, call.StepID)
				mu.Unlock()
				return out, nil
			}
		}
		h.action("defender.isolate_machine", track("isolate", map[string]any{"already": true}))
		h.action("defender.unisolate_machine", track("unisolate", map[string]any{}))
		c := compileYAML(t, reopenPlaybook)
		in := workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, ReopenedFrom: "run-a",
			Inherited: []workflows.InheritedHold{{Step: "isolate", Undo: "defender.unisolate_machine", Until: h.env.Now().Add(due),
				Targets: []map[string]any{{"hostname": "fin-ws-042"}}}}}
		h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, in)
		if _, err := resultOf(h); err != nil {
			t.Fatal(err)
		}
		if len(overlap) > 0 {
			t.Errorf("due %s: calls in flight together: %v", due, overlap)
		}
	}
}
