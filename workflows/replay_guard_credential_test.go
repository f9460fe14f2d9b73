package workflows_test

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/workflows"
)

// operations.md: "Runs started by the previous release finish on the new
// one: the replay guard (workflows/replay_test.go, recorded histories of
// every release) fails CI before a change that would break them lands".
// Since 2026-12-06 (9fc05ea, 038b56e) a vote's seal covers the credential
// that authenticated the voter, and a rollback's covers its requester's;
// the workflow verifies those seals on replay (the decide signal, the
// rollback's input). No recorded history holds such a seal (31 recorded
// votes are sealed, none over a credential: the newest recordings, s23-,
// predated them), and no recorded history was of the rollback workflow
// (riposte.rollback) at all, of any release, though it verifies its
// input's seal and branches on three GetVersion changes when replayed. So a
// change that verified these seals differently (a claim field reordered,
// the credential dropped from the MAC) or changed the rollback's command
// sequence would wedge every run in flight it touches, and the guard would
// pass.
//
// The recorder (test/e2e TestRecordHistories) saves the rollback run too;
// the s25- recordings hold both.
func TestReplayGuardHoldsCredentialSeals(t *testing.T) {
	dc := codec.NewDataConverter(replayKeys(t))
	var votes, rollbacks int
	for _, f := range histories(t) {
		for _, e := range recordedEvents(t, f) {
			if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.SignalDecide {
				var d workflows.Decision
				if err := dc.FromPayload(a.GetInput().GetPayloads()[0], &d); err == nil && d.Credential != "" && d.Seal != nil {
					votes++
				}
			}
			if a := e.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil && a.GetAcceptedRequest().GetInput().GetName() == workflows.UpdateDecide {
				var d workflows.Decision
				if err := dc.FromPayload(a.GetAcceptedRequest().GetInput().GetArgs().GetPayloads()[0], &d); err == nil && d.Credential != "" && d.Seal != nil {
					votes++
				}
			}
			if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil && a.GetWorkflowType().GetName() == workflows.RollbackWorkflow {
				var in workflows.RollbackInput
				if err := dc.FromPayload(a.GetInput().GetPayloads()[0], &in); err == nil && in.Credential != "" && in.Seal != nil {
					rollbacks++
				}
			}
		}
	}
	if votes == 0 || rollbacks == 0 {
		t.Errorf("recorded histories: %d votes and %d rollbacks sealed over their credential; the replay guard needs both", votes, rollbacks)
	}
}
