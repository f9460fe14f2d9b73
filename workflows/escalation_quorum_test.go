package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// README's escalation example: two of three approvers, else the CISO.
const escalationQuorumPlaybook = `apiVersion: riposte/v1
name: esc
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: core.noop
    with: {hostname: "h1"}
    approval:
      approvers: {users: [UALICE, UBOB, UCAROL]}
      quorum: 2
      timeout: 30m
      on_timeout: escalate
      escalate_to: {users: [U0CISO0001, U0CISO0002]%s, timeout: 30m}
`

// An escalation needs its own quorum (escalate_to.quorum, default 1), and
// the first round's approvals do not count towards it: the first round's
// quorum of 2 left a lone CISO unable to approve.
func TestEscalationQuorum(t *testing.T) {
	for _, tc := range []struct {
		name, quorum string
		votes        []workflows.Decision // at 31m, 32m, ...
		state        string
		wantQuorum   int
	}{
		{"default one", "", []workflows.Decision{{User: "U0CISO0001", Approve: true}}, workflows.GateApproved, 1},
		{"two needed, one given", ", quorum: 2", []workflows.Decision{{User: "U0CISO0001", Approve: true}}, workflows.GateTimedOut, 2},
		{"two needed, two given", ", quorum: 2", []workflows.Decision{{User: "U0CISO0001", Approve: true}, {User: "U0CISO0002", Approve: true}}, workflows.GateApproved, 2},
		{"a deny wins", "", []workflows.Decision{{User: "U0CISO0002", Reason: "no"}}, workflows.GateDenied, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newGateHarness(t, 2, "escalate", "")
			var first string
			// One first-round approval (of two needed), then the timeout.
			h.vote(5*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &first)
			outs := make([]string, len(tc.votes))
			for i, d := range tc.votes {
				d.GateID = "isolate"
				h.vote(time.Duration(31+i)*time.Minute, d, &outs[i])
			}
			c := compileYAML(t, fmt.Sprintf(escalationQuorumPlaybook, tc.quorum))
			h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
			res, _ := resultOf(h)
			g := res.Gates[0]
			if first != "" || g.State != tc.state || g.Quorum != tc.wantQuorum {
				t.Errorf("first-round vote %q; votes %q; gate %s, quorum %d; want %s, quorum %d", first, outs, g.State, g.Quorum, tc.state, tc.wantQuorum)
			}
			for i, o := range outs {
				if o != "" {
					t.Errorf("escalation vote %d refused: %s", i, o)
				}
			}
		})
	}
}

// An escalation without a timeout of its own waits the site's default
// (RIPOSTE_APPROVAL_TIMEOUT), as a first round does, not 30 minutes.
func TestEscalationSiteTimeout(t *testing.T) {
	h, _ := newGateHarness(t, 1, "escalate", "")
	var vote string
	// 30m first round, then the CISO answers 2h into the escalation.
	h.vote(2*time.Hour+30*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "U0CISO0001"}, &vote)
	c := compileYAML(t, strings.Replace(fmt.Sprintf(escalationQuorumPlaybook, ""), ", timeout: 30m}", "}", 1))
	in := workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det}
	in.Approval.Timeout = playbook.Duration(4 * time.Hour)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, in)
	res, _ := resultOf(h)
	if g := res.Gates[0]; vote != "" || g.State != workflows.GateApproved {
		t.Errorf("vote %q, gate %s: the escalation should wait the site's 4h", vote, g.State)
	}
}
