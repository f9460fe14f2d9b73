package workflows_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// A containment call in flight when its run is cancelled (Temporal UI,
// tctl) or aborts finishes, and the run records what it did: the vendor
// may already have applied it, and a call abandoned half-way was recorded
// as failed ("cancelled"), so the run's rollback never undid a host it had
// isolated. From RevContainFinishes; earlier runs replay as they ran.
func TestCancelledRunRecordsItsInFlightContainment(t *testing.T) {
	for _, tc := range []struct {
		name string
		rev  int
		want string // the isolate step's status
	}{
		{"current", workflows.LatestRev, playbook.StatusSucceeded},
		{"before RevContainFinishes", workflows.RevContainFinishes - 1, playbook.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := outcomeHarness(t, false)
			h.rev = tc.rev
			var applied atomic.Bool
			h.action("defender.isolate_machine", func(_ context.Context, call catalog.Call) (map[string]any, error) {
				// The vendor applies it; the run is cancelled before the
				// answer comes back.
				applied.Store(true)
				go h.env.CancelWorkflow()
				time.Sleep(300 * time.Millisecond)
				return call.Params, nil
			})
			res, _ := h.run(compileYAML(t, holdOnly), det)
			if res == nil {
				t.Fatal("no result")
			}
			if !applied.Load() {
				t.Fatal("the containment call never ran")
			}
			st := stepOf(res, "isolate")
			if st.Status != tc.want {
				t.Fatalf("isolate %s (%s), want %s", st.Status, st.Error, tc.want)
			}
			if tc.want != playbook.StatusSucceeded {
				return
			}
			if res.Status != workflows.RunCanceled {
				t.Errorf("run %s, want %s", res.Status, workflows.RunCanceled)
			}
			if undo := workflows.UndoCalls(res.Steps, res.Holds, compileCatalog()); len(undo) != 1 {
				t.Errorf("rollback plan %+v, want the isolate the vendor applied undone", undo)
			}
		})
	}
}
