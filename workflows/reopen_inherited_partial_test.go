package workflows_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// The run that continues a withdrawn one releases the hold of two hosts
// it inherited when it falls due: fin-ws-042 is released, and the release
// of fin-ws-043 fails (Defender answers 503 Service Unavailable on every
// attempt). The hold records one error for both, and the rollback planned
// both hosts again: fin-ws-042, released on time, was unisolated a second
// time — lifting an isolation an analyst had put back since. The hold
// names the targets whose release failed, and the rollback plans those
// only (keeping each call's index: its place among the hold's targets).
func TestPartlyFailedInheritedReleasePlansOnlyTheFailedTargets(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.action("defender.isolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		return map[string]any{"already": true, "preexisting": true}, nil
	})
	h.action("defender.unisolate_machine", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		if call.Params["hostname"] == "fin-ws-043" {
			return nil, temporal.NewNonRetryableApplicationError("defender: HTTP 503 Service Unavailable", "VendorUnavailable", nil)
		}
		return map[string]any{}, nil
	})
	c := compileYAML(t, reopenPlaybook)
	in := workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, ReopenedFrom: "run-a",
		Inherited: []workflows.InheritedHold{{Step: "isolate", Undo: "defender.unisolate_machine", Until: h.env.Now().Add(30 * time.Minute),
			Targets: []map[string]any{{"hostname": "fin-ws-042"}, {"hostname": "fin-ws-043"}}}}}
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, in)
	res, err := resultOf(h)
	if err != nil {
		t.Fatal(err)
	}
	var inh *workflows.Hold
	for i := range res.Holds {
		if res.Holds[i].InheritedFrom == "run-a" {
			inh = &res.Holds[i]
		}
	}
	if inh == nil || inh.ReleasedAt == nil || inh.Error == "" {
		t.Fatalf("holds %+v; want the inherited hold's release failed", res.Holds)
	}
	plan := workflows.InheritedUndoCallsOf(res.Steps, res.Holds, nil, compileCatalog())
	if len(plan) != 1 || plan[0].Params["hostname"] != "fin-ws-043" || plan[0].Index != 1 {
		t.Errorf("rollback plan %+v; want fin-ws-043 only (index 1): fin-ws-042 was released", plan)
	}
}
