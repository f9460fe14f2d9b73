package slackapp

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/riposte-dev/riposte/workflows"
)

// Slack counts a text object's limit on the text it receives: in mrkdwn
// that is the escaped text (&amp; &lt; &gt;), in plain_text the text as
// it is. Every text of a request, a closed gate, a run-state line and the
// reason form, fed with &, < and > (each 4-5 characters once escaped),
// stays within the limits Slack documents for its block: header 150,
// section text 3000, field 2000, context element 2000 (Riposte's cap,
// under Slack's 3000), button 75, modal title 24, private_metadata 3000.
func TestLimitsCountedOnEscapedText(t *testing.T) {
	markup := strings.Repeat("<&>", 3000)
	req := testRequest()
	req.Playbook, req.StepName, req.StepID = markup, markup, markup[:300]
	req.Action, req.Risk = markup, markup
	req.Detection.Title, req.Detection.Detector, req.Detection.Host = markup, markup, markup
	req.Detection.AttackIDs = []string{markup, markup}
	req.Why = workflows.WhyApprovalIf + markup
	req.Params = map[string]any{markup: markup, "x": []any{markup, markup}}
	req.Users = []string{markup, "U024BE7LH"}
	gate := testGate(req)
	gate.Votes = []workflows.Decision{{Approve: true, User: markup, Reason: markup}}
	gate.Quorum = 3
	blocks, fallbackText, _ := RequestBlocks(req, gate)
	checkEscapedLimits(t, "request", blocks)
	if utf16Len(fallbackText) > MaxFallbackText {
		t.Errorf("fallback text is %d long", utf16Len(fallbackText))
	}

	now := time.Unix(1767326125, 0)
	for _, state := range []string{workflows.GateApproved, workflows.GateDenied, workflows.GateTimedOut, workflows.GateEscalated, workflows.GateWithdrawn} {
		closed := gate
		closed.State = state
		closed.Decision = &workflows.Decision{Approve: state == workflows.GateApproved, User: markup, Reason: markup, Via: markup, At: now}
		run := &workflows.GateRunState{Status: workflows.RunSucceeded, Outcome: markup, OutcomeText: markup + ": " + markup, EndedAt: &now,
			RunID: markup, Hold: &workflows.Hold{Step: markup, Undo: markup, Until: now, Extensions: []string{markup}, Error: markup, ReleasedAt: &now}}
		blocks, _, _ := DecidedRunBlocks(req, closed, run)
		checkEscapedLimits(t, state, blocks)
		run.Hold.ReleasedAt, run.Hold.Error = nil, ""
		blocks, _, _ = DecidedRunBlocks(req, closed, run)
		checkEscapedLimits(t, state+" holding", blocks)
	}

	modal := ReasonModal(GateRef{WorkflowID: strings.Repeat("w", 900), GateID: markup[:300], MessageTS: "1767323045.000100", Channel: "C0RIPOSTE1", Approve: true})
	if n := utf16Len(modal.Title.Text); n > MaxModalTitle {
		t.Errorf("modal title is %d long", n)
	}
	if n := len(modal.PrivateMetadata); n > MaxPrivateMeta {
		t.Errorf("private_metadata is %d long", n)
	}
	checkEscapedLimits(t, "modal", modal.Blocks.BlockSet)
}

func checkEscapedLimits(t *testing.T, what string, blocks []slack.Block) {
	t.Helper()
	checkLimits(t, blocks)
	text := func(o *slack.TextBlockObject) int {
		if o == nil {
			return 0
		}
		if o.Type == slack.MarkdownType && strings.ContainsAny(strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "").Replace(o.Text), "&") {
			t.Errorf("%s: a mrkdwn text holds a bare or cut entity: %q", what, o.Text)
		}
		return utf16Len(o.Text)
	}
	for _, b := range blocks {
		switch x := b.(type) {
		case *slack.HeaderBlock:
			if n := text(x.Text); n > MaxHeaderText {
				t.Errorf("%s: header is %d long", what, n)
			}
		case *slack.SectionBlock:
			if n := text(x.Text); n > MaxSectionText {
				t.Errorf("%s: section %s is %d long", what, x.BlockID, n)
			}
			for _, f := range x.Fields {
				if n := text(f); n > MaxFieldText {
					t.Errorf("%s: field of %s is %d long", what, x.BlockID, n)
				}
			}
		case *slack.ContextBlock:
			for _, e := range x.ContextElements.Elements {
				if o, ok := e.(*slack.TextBlockObject); ok {
					if n := text(o); n > MaxContextText {
						t.Errorf("%s: context %s element is %d long", what, x.BlockID, n)
					}
				}
			}
		case *slack.InputBlock:
			if n := text(x.Label); n > 2000 {
				t.Errorf("%s: input label is %d long", what, n)
			}
		}
	}
}
