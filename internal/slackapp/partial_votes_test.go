package slackapp

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/riposte-dev/riposte/workflows"
)

// A gate that needs two approvals closes by its deadline after one of them
// (on_timeout deny, escalate or approve). Its Slack message then said
// "Timed out: nobody decided before the deadline" (or "Escalated: nobody
// decided ...") and dropped the approval that was given, since a closed
// message keeps no "Approved so far"; with on_timeout: approve it read
// "Approved by @U024BE7LH via timeout", naming as the approver one person
// whose vote alone could not approve (the timeout policy did). The
// message is the channel's record of who decided what: it must say that
// U024BE7LH approved, 1 of the 2 needed, and never that nobody decided.
func TestClosedByDeadlineAfterPartialVotes(t *testing.T) {
	vote := workflows.Decision{GateID: "isolate", User: "U024BE7LH", Approve: true, Via: workflows.ViaSlack, At: testOpened.Add(5 * time.Minute)}
	for _, tc := range []struct {
		name    string
		state   string
		approve bool
	}{
		{"timed out (deny)", workflows.GateTimedOut, false},
		{"escalated", workflows.GateEscalated, false},
		{"approved by the timeout policy", workflows.GateApproved, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := testRequest()
			req.Quorum = 2
			g := testGate(req)
			g.Quorum = 2
			d := workflows.Decision{GateID: "isolate", User: "riposte", Via: workflows.ViaTimeout, Approve: tc.approve, At: testExpires}
			g.State, g.Votes, g.ClosedAt = tc.state, []workflows.Decision{vote}, &testExpires
			if tc.state != workflows.GateEscalated {
				g.Decision = &d
			} else {
				g.Escalated = true
			}
			blocks, _, _ := DecidedRunBlocks(req, g, nil)
			b, _ := json.Marshal(blocks)
			text := string(b)
			t.Log(outcomeText(blocks))
			if strings.Contains(text, "nobody decided") {
				t.Errorf("the message says nobody decided, but U024BE7LH approved (1 of 2): %s", text)
			}
			if tc.approve && strings.Contains(outcomeText(blocks), "*Approved* by <@U024BE7LH>") {
				t.Errorf("the message names U024BE7LH as the approver; the timeout policy approved: %s", text)
			}
			if !strings.Contains(text, "1 of 2") {
				t.Errorf("the message does not say the gate had 1 of the 2 approvals it needed: %s", text)
			}
		})
	}
}

// outcomeText is the outcome section's text, for the log.
func outcomeText(blocks []slack.Block) string {
	for _, b := range blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.BlockID == BlockOutcome {
			return s.Text.Text
		}
	}
	return ""
}

// A gate whose on_timeout: approve was not applied (nobody was asked, or
// the timeout was acted on long after the deadline) says so: the message
// must not read "the timeout policy denied the action" as if the playbook
// had said deny, and it gives Riposte's reason in plain text.
func TestTimeoutNotAppliedSaysWhy(t *testing.T) {
	req := testRequest()
	g := testGate(req)
	why := workflows.ReasonTimeoutNotApplied + "the gate expired at 2026-12-06T12:49:05Z, but the run acted on it only at 2026-12-07T01:05:05Z, 12h16m0s late (workers or Temporal were down or stalled), and approvers could not answer meanwhile"
	d := workflows.Decision{GateID: "isolate", User: "riposte", Via: workflows.ViaTimeout, Reason: why, At: testExpires}
	g.State, g.Decision, g.ClosedAt = workflows.GateTimedOut, &d, &testExpires
	blocks, _, _ := DecidedRunBlocks(req, g, nil)
	out := outcomeText(blocks)
	if strings.Contains(out, "denied") || !strings.Contains(out, "*not applied*") {
		t.Errorf("outcome %q, want it to say on_timeout: approve was not applied", out)
	}
	b, _ := json.Marshal(blocks)
	if !strings.Contains(string(b), "12h16m0s late") {
		t.Errorf("the message does not give the reason: %s", b)
	}
}

// The reason an on_timeout: approve was not applied is given once: the
// outcome's plain-text line said it, and "Reason: on_timeout: approve not
// applied: ..." repeated the same sentence under it.
func TestTimeoutNotAppliedReasonOnce(t *testing.T) {
	req := testRequest()
	g := testGate(req)
	d := workflows.Decision{GateID: "isolate", User: "riposte", Via: workflows.ViaTimeout,
		Reason: workflows.ReasonTimeoutNotApplied + "the approval request could not be posted, so nobody was asked", At: testExpires}
	g.State, g.Decision, g.ClosedAt = workflows.GateTimedOut, &d, &testExpires
	blocks, _, _ := DecidedRunBlocks(req, g, nil)
	b, _ := json.Marshal(blocks)
	if n := strings.Count(string(b), "nobody was asked"); n != 1 {
		t.Errorf("the reason is in the message %d times, want once: %s", n, b)
	}
	if !strings.Contains(outcomeText(blocks), "*not applied*") {
		t.Errorf("outcome %q, want it to say on_timeout: approve was not applied", outcomeText(blocks))
	}
}
