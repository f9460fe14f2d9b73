package workflows

import (
	"strconv"

	"github.com/riposte-dev/riposte/internal/signing"
)

// ChangeSignedDecisions gates the seal check on the decide signal, so runs
// recorded before decisions were signed still replay.
const ChangeSignedDecisions = "sec-signed-decisions"

// DecisionClaim is what the seal of a vote on run workflowID covers. The
// signer (API, Slack app) and the workflow build it the same way.
func DecisionClaim(workflowID string, d Decision) signing.Claim {
	dec := "deny"
	if d.Approve {
		dec = "approve"
	}
	return signing.Claim{Kind: signing.KindDecide, Run: workflowID, Gate: d.GateID, Decision: dec, Identity: d.User,
		Channel: d.Via, Reason: d.Reason, MessageTS: d.MessageTS}
}

// ExtendClaim is what the seal of an extension covers.
func ExtendClaim(workflowID string, req ExtendRequest) signing.Claim {
	return signing.Claim{Kind: signing.KindExtend, Run: workflowID, Gate: req.Step, Decision: strconv.FormatInt(int64(req.By), 10),
		Identity: req.User, Channel: req.Via}
}

// SafeModeClaim is what the seal of a safe-mode switch covers.
func SafeModeClaim(req SafeModeRequest) signing.Claim {
	return signing.Claim{Kind: signing.KindSafeMode, Run: GuardWorkflowID, Decision: strconv.FormatBool(req.Enabled),
		Identity: req.By, Channel: req.Via}
}

// RollbackClaim is what the seal of a rollback covers: the run undone and
// the person asking (the undo list is rebuilt from the run by the signer).
func RollbackClaim(in RollbackInput) signing.Claim {
	return signing.Claim{Kind: signing.KindRollback, Run: in.WorkflowID, Gate: in.RunID, Decision: "rollback",
		Identity: in.Requester, Channel: in.Via}
}
