package workflows_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// Fixed: the undo result keeps the output and says already.
//
// An undo whose connector found nothing to undo (already: the host was
// released by someone else, the user is not suspended, the hostname now
// resolves to another device that was never contained) did not act. The
// rollback discarded the undo's output (ExecuteActivity(...).Get(ctx,
// nil)) and reported it "succeeded" like an undo that lifted the
// containment, so `riposte runs show rollback:RUN` and GET /v1/runs (the
// undo results, read back from the rollback's result) cannot tell an
// analyst that the vendor did nothing for it.
func TestRollbackReportsAnUndoThatFoundNothingToUndo(t *testing.T) {
	h := newHarness(t)
	h.action("crowdstrike.lift_containment", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		return map[string]any{"device_id": "aid-1", "hostname": "fin-ws-042", "status": "normal", "already": true}, nil
	})
	in := workflows.RollbackInput{WorkflowID: "w1", Requester: "USOC", Via: workflows.ViaAPI,
		Undo: []workflows.UndoCall{{Step: "isolate", Action: "crowdstrike.contain_host", Undo: "crowdstrike.lift_containment", Index: -1, Params: map[string]any{"hostname": "fin-ws-042"}}}}
	in = sealRollback(t, h, in, h.env.Now())
	h.env.ExecuteWorkflow(workflows.RollbackWorkflow, in)
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res []workflows.UndoResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if len(res) != 1 || !res[0].Already || res[0].Status != "succeeded" || !strings.Contains(string(b), `"already":true`) {
		t.Fatalf("the rollback's result does not say the undo found nothing to undo: %s", b)
	}
}
