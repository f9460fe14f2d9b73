package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/workflows"
)

// An escalation needing 2 approvals whose approvers include a first-round
// approver who already approved: that approval does not count towards the
// escalation (countFrom), so the approver votes again in it; otherwise
// ("has already voted") the escalation could never reach its quorum.
func TestEscalationApproverWhoVotedFirstVotesAgain(t *testing.T) {
	h, _ := newGateHarness(t, 2, "escalate", "")
	var first, bob, ciso string
	h.vote(5*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &first)
	h.vote(31*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "U0CISO0001"}, &ciso)
	h.vote(32*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &bob)
	src := strings.Replace(escalationQuorumPlaybook, "[U0CISO0001, U0CISO0002]%s", "[U0CISO0001, UBOB], quorum: 2", 1)
	c := compileYAML(t, src)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
	res, _ := resultOf(h)
	g := res.Gates[0]
	if g.State != workflows.GateApproved {
		t.Errorf("votes: first %q, ciso %q, bob %q; gate %s: both escalation approvers approved, the escalation cannot be approved", first, ciso, bob, g.State)
	}
	_ = fmt.Sprint
}
