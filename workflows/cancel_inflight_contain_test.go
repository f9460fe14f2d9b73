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

const readThenContain = `apiVersion: riposte/v1
name: readfirst
version: 1
trigger: {when: "true"}
steps:
  - id: enrich
    action: core.noop
    with: {x: 1}
  - id: isolate
    action: defender.isolate_machine
    needs: [enrich]
    with: {hostname: "h1"}
    approval: auto
`

// A run cancelled while a read step's call runs: that call is cut short
// and fails ("cancelled: run cancelled"), but it does not abort the run:
// the cancel ends it. The run reads canceled, nothing after starts, and
// its outcome says what the steps did rather than "failed" ("run aborted:
// step enrich failed: cancelled: ", as a run cancelled on revision 7
// read).
func TestCancelledRunIsNotAFailure(t *testing.T) {
	h, ran := outcomeHarness(t, false)
	h.rev = workflows.LatestRev
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		go h.env.CancelWorkflow()
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
		return call.Params, nil
	})
	res, _ := h.run(compileYAML(t, readThenContain), det)
	if res == nil {
		t.Fatal("no result")
	}
	if res.Status != workflows.RunCanceled || res.Outcome == workflows.OutcomeFailed {
		t.Errorf("run %s, outcome %s (%s): want canceled, not failed", res.Status, res.Outcome, res.OutcomeDetail)
	}
	if st := stepOf(res, "isolate"); st.Status != playbook.StatusSkipped || st.Reason != "run cancelled" {
		t.Errorf("isolate %s (%s%s), want skipped: run cancelled", st.Status, st.Reason, st.Error)
	}
	for _, name := range *ran {
		if name == "isolate" {
			t.Error("isolate ran after the run was cancelled")
		}
	}
	t.Logf("enrich %s %q; outcome %s %q", stepOf(res, "enrich").Status, stepOf(res, "enrich").Error, res.Outcome, res.OutcomeDetail)
}
