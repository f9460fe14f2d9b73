package workflows_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/workflows"
)

// After an escalation only the escalation's own votes count towards its
// quorum (escalation-quorum), but the gate the run hands to the message
// update (and to GET /v1/approvals, riposte approvals) carries every vote
// of both rounds and nothing that says where the escalation began. So the
// escalated request message counts a first-round approval that no longer
// counts: with one CISO approval of the two needed it says "2 of 2
// approvals" and "Approved so far" names the first-round approver, while
// the gate is still pending (and then times out).
//
// The gate says which votes are the current round's (Gate.RoundFrom, set
// at the escalation; state and activity input only), and the renderers
// count Votes[RoundFrom:].
func TestEscalatedMessageCountsOnlyItsRound(t *testing.T) {
	h, f := newGateHarness(t, 2, "escalate", "")
	var first, ciso string
	// One first-round approval (of two needed), then the timeout at 30m.
	h.vote(5*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &first)
	// One escalation approval of the two it needs.
	h.vote(31*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "U0CISO0001"}, &ciso)
	c := compileYAML(t, fmt.Sprintf(escalationQuorumPlaybook, ", quorum: 2"))
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
	res, _ := resultOf(h)
	if first != "" || ciso != "" || res.Gates[0].State != workflows.GateTimedOut {
		t.Fatalf("votes %q %q, gate %s: want both accepted and the escalation timed out (one of two)", first, ciso, res.Gates[0].State)
	}
	// The message update after the CISO's vote: still pending.
	var upd *workflows.GateUpdate
	for i := range f.updates {
		u := f.updates[i]
		if u.Gate.State == workflows.GatePending && u.Gate.Escalated && len(u.Gate.Votes) == 2 {
			upd = &u
		}
	}
	if upd == nil {
		t.Fatalf("no pending escalated message update after the CISO's vote among %d updates", len(f.updates))
	}
	blocks, _, _ := slackapp.RequestBlocks(upd.Request, upd.Gate)
	b, _ := json.Marshal(blocks)
	text := string(b)
	if !strings.Contains(text, "1 of 2 approvals") || strings.Contains(text, "UBOB") {
		t.Errorf("escalated request message (pending, one escalation approval of two) should say \"1 of 2 approvals\" and not credit the first round's UBOB; it says: %s", statusLine(text))
	}
}

// statusLine picks the quorum and approvers texts out of rendered blocks.
func statusLine(js string) string {
	var out []string
	for _, s := range []string{"of 2 approvals", "Approved so far"} {
		if i := strings.Index(js, s); i >= 0 {
			lo := max(i-20, 0)
			hi := min(i+60, len(js))
			out = append(out, js[lo:hi])
		}
	}
	return strings.Join(out, " | ")
}
