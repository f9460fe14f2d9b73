package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// A run two reopenings down inherits two holds of step isolate (the hold
// of the run it continues, fin-ws-077, and the one that run inherited in
// turn, fin-ws-043; the run isolates fin-ws-042 itself): both are held as inherited:isolate. Their releases
// were sent with the same idempotency key (w/inherited:isolate/release/0):
// a vendor that honours Idempotency-Key answers the second release with
// the first one's response, and fin-ws-043 stays isolated while the hold
// reads released. Each release call has its own key.
func TestInheritedHoldsOfOneStepAreReleasedWithTheirOwnKeys(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	var mu sync.Mutex
	keys := map[string]string{}
	h.action("defender.unisolate_machine", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		keys[call.Params["hostname"].(string)] = call.IdempotencyKey
		return map[string]any{}, nil
	})
	c := compileYAML(t, reopenPlaybook)
	in := workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, ReopenedFrom: "run-b",
		Inherited: []workflows.InheritedHold{
			{Step: "isolate", Undo: "defender.unisolate_machine", Until: h.env.Now().Add(30 * time.Minute), Targets: []map[string]any{{"hostname": "fin-ws-077"}}},
			{Step: "isolate", Undo: "defender.unisolate_machine", Until: h.env.Now().Add(40 * time.Minute), Targets: []map[string]any{{"hostname": "fin-ws-043"}}},
		}}
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, in)
	if _, err := resultOf(h); err != nil {
		t.Fatal(err)
	}
	if keys["fin-ws-077"] == "" || keys["fin-ws-043"] == "" || keys["fin-ws-077"] == keys["fin-ws-043"] {
		t.Errorf("release idempotency keys %v; want one of its own for fin-ws-077 and fin-ws-043", keys)
	}
}
