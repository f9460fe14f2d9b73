package workflows_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// README, Undo: "a run rolled back while containment is still to come
// starts no more of it: ... contain steps not yet started" are skipped
// (rolled-back-stops-containment). A for_each contain step part-way
// through its items is containment still to come too, but stopOnRollback
// only looks at pending gates and steps still pending: with the step
// running, nothing is stopped and the items not yet started contain after
// the rollback (the rollback, which undoes only steps that ended, undid
// none of them), while a withdrawal at the same point skips them
// (withdraw-stops-items).
//
// Fixed: stopOnRollback counts such a step as containment still to come.
func TestRolledBackRunSkipsForEachItemsNotStarted(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	var mu sync.Mutex
	var contained []string
	tries := map[string]int{}
	h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("crowdstrike.contain_host", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		host := call.Params["hostname"].(string)
		tries[host]++
		if host == "a" && tries[host] == 1 {
			return nil, temporal.NewApplicationError("503 from the vendor", "Unavailable")
		}
		contained = append(contained, host)
		return map[string]any{}, nil
	})
	// Item a is retried at 1h; the run is rolled back at 30m, before item b
	// has started.
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalRolledBack, h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x"}))
	}, 30*time.Minute)
	src := strings.Replace(forEachContain, "approval: auto", "approval: auto\n    concurrency: 1\n    retry: {max_attempts: 2, initial_interval: 1h}", 1)
	res, _ := h.run(compileYAML(t, src), det)
	if res == nil {
		t.Fatal("no result")
	}
	if res.RolledBack == nil {
		t.Fatalf("the run did not record its rollback: %+v", res)
	}
	st := stepOf(res, "isolate")
	if len(st.Items) != 2 {
		t.Fatalf("items %+v", st.Items)
	}
	if slices.Contains(contained, "b") || st.Items[1].Status != playbook.StatusSkipped {
		t.Errorf("rolled back by UALICE at 30m, the run still contained b afterwards (item b %s %q, outcome %s %s); want b skipped as after a withdrawal",
			st.Items[1].Status, st.Items[1].Error, res.Outcome, res.OutcomeDetail)
	}
}
