package api

import (
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// A run whose playbook says on_withdraw: rollback undid its containment
// itself when the finding was withdrawn (withdrawn.rolled_back); a step
// without contain_for has no hold to mark that. POST /v1/runs/{id}/rollback
// (riposte rollback) then planned the same undo again and started it:
// 202 listing containment already lifted, and an isolation an analyst
// put back by hand after the withdrawal (or a block of a partially
// applied call, now undone too) lifted a second time. What the
// withdrawal undid is not undone again (an undo that failed still is).
func TestRollbackPlanSkipsWhatTheWithdrawalUndid(t *testing.T) {
	undone := workflows.UndoCall{Step: "isolate", Action: "defender.isolate_machine", Undo: "defender.unisolate_machine", Index: -1, Params: map[string]any{"hostname": "h1"}}
	d := rollbackRun(playbook.ModeLive, false)
	d.Withdrawn = &workflows.Withdrawal{Reason: "Resolved", RolledBack: []workflows.UndoResult{{UndoCall: undone, Status: "succeeded"}}}
	undo, refusal := rollbackPlan(d, activities.Catalog())
	if len(undo) != 0 || refusal == "" {
		t.Errorf("rollbackPlan = %+v, refusal %q; want nothing to undo: the withdrawal's rollback undid isolate", undo, refusal)
	}
	d.Withdrawn.RolledBack[0].Status, d.Withdrawn.RolledBack[0].Error = "failed", "503"
	if undo, refusal := rollbackPlan(d, activities.Catalog()); len(undo) != 1 || refusal != "" {
		t.Errorf("rollbackPlan = %+v, refusal %q; want the undo the withdrawal failed to run", undo, refusal)
	}
}
