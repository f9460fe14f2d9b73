package slackapp

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/workflows"
)

// README, Undo: a run rolled back while a contain step waits at its gate
// has the gate closed as withdrawn (via: rollback, the Slack message
// updated). The updated message said "the detector closed this finding",
// which is false (a person rolled the run back; the finding is still
// open), so an approver read the alert as closed by its detector. A gate
// withdrawn by the detector still says so.
func TestWithdrawnByRollbackSaysRolledBack(t *testing.T) {
	d := workflows.Decision{GateID: "isolate", User: "riposte", Via: workflows.ViaRollback, Reason: "run rolled back by UALICE (rollback:x)", At: testClosed}
	blocks, verb, _ := DecidedBlocks(testRequest(), workflows.Gate{State: workflows.GateWithdrawn, Decision: &d, ClosedAt: &testClosed})
	b, _ := json.Marshal(blocks)
	if strings.Contains(string(b), "detector closed") || !strings.Contains(string(b), "rolled back") || !strings.HasPrefix(verb, "Withdrawn") {
		t.Errorf("gate withdrawn by a rollback (verb %q): %s; want it to say the run was rolled back, not that the detector closed the finding", verb, b)
	}
	d = workflows.Decision{GateID: "isolate", User: "riposte", Via: workflows.ViaWithdrawal, Reason: "finding withdrawn: Resolved", At: testClosed}
	blocks, _, _ = DecidedBlocks(testRequest(), workflows.Gate{State: workflows.GateWithdrawn, Decision: &d, ClosedAt: &testClosed})
	b, _ = json.Marshal(blocks)
	if !strings.Contains(string(b), "the detector closed this finding") {
		t.Errorf("gate withdrawn by the detector: %s", b)
	}
}
