package workflows_test

import (
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// panos.block_ip through Panorama registers the address on each firewall
// of target: in turn. When it fails after some of them (an unreachable or
// unmanaged serial, retries exhausted), its error says catalog.
// PartiallyApplied ("partially applied: done on firewall …"): the block is
// in force there, and the run keeps the budget slot for it. But the step is
// failed, and only succeeded contain steps are undone: a rollback of the
// run has nothing to lift (409) and a contain_for hold is never set, so the
// firewalls that acted keep a block meant to last 24h
// (block-c2-beaconing) for good, with nothing in Riposte able to lift it.
// The undo (unblock_ip) answers already where nothing was registered, so a
// rollback runs it on a partially applied step now (undoRules
// partlyApplied); a failed step that applied nothing stays out.
func TestRollbackUndoesPartiallyAppliedFailedStep(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []workflows.StepResult{
		{ID: "block", Action: "panos.block_ip", Status: "failed", Params: map[string]any{"ip": "203.0.113.77"},
			Error:   "blocking ip 203.0.113.77: on firewall 000000000000: PAN-OS refused the registered-ip Query: unknown target (" + catalog.PartiallyApplied + ": done on firewall 007051000113358)",
			EndedAt: &t0},
	}
	undo := workflows.UndoCalls(steps, nil, compileCatalog())
	if len(undo) != 1 || undo[0].Step != "block" || undo[0].Undo != "panos.unblock_ip" {
		t.Fatalf("rollback would run %+v; want block's unblock_ip: the block is in force on firewall 007051000113358", undo)
	}
	steps[0].Error = "blocking ip 203.0.113.77: on firewall 000000000000: PAN-OS refused the registered-ip Query: unknown target"
	if undo := workflows.UndoCalls(steps, nil, compileCatalog()); len(undo) != 0 {
		t.Errorf("a failed step that applied nothing would be undone: %+v", undo)
	}
}
