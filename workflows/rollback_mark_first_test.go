package workflows_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/activity"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// The rollback of a withdrawn run that still runs is started with a start
// delay, and its rolled_back mark sent at once. When the API process dies
// between the two (or the mark is lost), the run never learns of the
// rollback: it keeps its holds, and a record reopening its finding
// continues it as a new run that takes over or inherits the containment
// the rollback lifts, showing it held. Such a rollback (mark_first) begins
// only once its run took its mark, and is refused otherwise, undoing
// nothing; one without mark_first (every earlier rollback, a rollback of a
// run not withdrawn) does not ask.
func TestRollbackMarkFirstBeginsOnlyOnceItsRunTookTheMark(t *testing.T) {
	for _, tc := range []struct {
		name      string
		markFirst bool
		refusal   string
		asked     bool
		undone    bool
	}{
		{"mark taken", true, "", true, true},
		{"mark not taken, run continued", true, "run r-a continued as run r-b before it took this rollback's mark", true, false},
		{"mark not asked for", false, "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			var mu sync.Mutex
			var undone int
			var asked []workflows.RollbackMarkedInput
			h.action("defender.unisolate_machine", func(_ context.Context, _ catalog.Call) (map[string]any, error) {
				mu.Lock()
				defer mu.Unlock()
				undone++
				return map[string]any{}, nil
			})
			h.env.RegisterActivityWithOptions(func(_ context.Context, in workflows.RollbackMarkedInput) (workflows.RollbackMarked, error) {
				mu.Lock()
				defer mu.Unlock()
				asked = append(asked, in)
				return workflows.RollbackMarked{Refusal: tc.refusal}, nil
			}, activity.RegisterOptions{Name: workflows.ActivityRollbackMarked})
			in := workflows.RollbackInput{WorkflowID: "w1", RunID: "r-a", Requester: "USOC", Via: workflows.ViaAPI, MarkFirst: tc.markFirst,
				Undo: []workflows.UndoCall{{Step: "isolate", Action: "defender.isolate_machine", Undo: "defender.unisolate_machine", Index: -1, Params: map[string]any{"hostname": "fin-ws-042"}}}}
			in = sealRollback(t, h, in, h.env.Now())
			h.env.ExecuteWorkflow(workflows.RollbackWorkflow, in)
			err := h.env.GetWorkflowError()
			if (len(asked) > 0) != tc.asked || (tc.asked && (asked[0].WorkflowID != "w1" || asked[0].RunID != "r-a" || asked[0].Since.IsZero())) {
				t.Errorf("asked whether the mark was taken: %+v; want asked %v for w1 run r-a since the rollback's start", asked, tc.asked)
			}
			if (undone > 0) != tc.undone {
				t.Errorf("undo calls: %d; want undone %v", undone, tc.undone)
			}
			if tc.refusal != "" && (err == nil || !strings.Contains(err.Error(), tc.refusal)) {
				t.Errorf("error %v; want the rollback refused saying %q", err, tc.refusal)
			}
			if tc.refusal == "" && err != nil {
				t.Errorf("error %v", err)
			}
		})
	}
}
