package slackapp

import (
	"context"
	"fmt"
	"strings"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/workflows"
	"github.com/slack-go/slack"
)

// outcomeBlocks renders how a gate closed and returns the fallback verb and
// the colour.
func outcomeBlocks(req workflows.GateRequest, gate workflows.Gate) ([]slack.Block, string, string) {
	d := gate.Decision
	at := gate.ClosedAt
	if at == nil && d != nil && !d.At.IsZero() {
		at = &d.At
	}
	when := ""
	if at != nil && !at.IsZero() {
		when = " · " + slackDate(*at)
	}
	via := ""
	if d != nil && d.Via != "" {
		via = " via " + viaLabel(d.Via)
	}

	// The approvals given before a deadline closed the gate (timed out,
	// escalated, or approved by on_timeout: approve) without its quorum.
	byDeadline := gate.State == workflows.GateTimedOut || gate.State == workflows.GateEscalated ||
		(gate.State == workflows.GateApproved && d != nil && d.Via == workflows.ViaTimeout)
	var partial []string
	if byDeadline {
		partial = approvedBy(gate.RoundVotes())
	}
	quorum := max(gate.Quorum, req.Quorum, 1)

	var verb, color string
	var who []string
	switch gate.State {
	case workflows.GateApproved:
		verb, color = "Approved", ColorApproved
		who = approvedBy(gate.RoundVotes())
		if len(who) == 0 && d != nil && d.User != "" {
			who = []string{d.User}
		}
		if byDeadline {
			// The timeout policy approved, not the people who voted
			// before it (their votes did not reach the quorum).
			who = nil
		}
	case workflows.GateDenied:
		verb, color = "Denied", ColorCritical
		if d != nil && d.User != "" {
			who = []string{d.User}
		}
	case workflows.GateTimedOut:
		verb, color = "Timed out", ColorLow
	case workflows.GateEscalated:
		verb, color = "Escalated", ColorLow
	case workflows.GateWithdrawn:
		verb, color = "Withdrawn", ColorLow
	default:
		verb, color = "Pending", SeverityColor(req.Detection.SeverityID)
	}

	var text string
	var extra []string // plain_text lines
	switch gate.State {
	case workflows.GateApproved, workflows.GateDenied:
		m, rest := mentions(who)
		text = "*" + verb + "*"
		if m != "" {
			text += " by " + m
		} else if rest == "" && d != nil && d.Via == workflows.ViaPolicy {
			text += " by policy"
		}
		if byDeadline && gate.State == workflows.GateApproved {
			text += " by the timeout policy (on_timeout: approve)"
			via = ""
		}
		text += via + when
		if rest != "" {
			extra = append(extra, verb+" by: "+rest)
		}
	case workflows.GateTimedOut:
		text = "*Timed out*: " + undecided(partial, quorum, &extra) + when
		if d != nil {
			if strings.HasPrefix(d.Reason, workflows.ReasonTimeoutNotApplied) {
				// Riposte's own words (no detection text): plain_text.
				text += "; on_timeout: approve was *not applied*, nothing was done"
				extra = append(extra, strings.TrimPrefix(d.Reason, workflows.ReasonTimeoutNotApplied))
			} else if d.Approve {
				text += "; the timeout policy *approved* the action"
			} else {
				text += "; the timeout policy *denied* the action"
			}
		}
	case workflows.GateEscalated:
		text = "*Escalated*: " + undecided(partial, quorum, &extra) + when
		m, rest := approverMentions(gate.Approvers, gate.Groups)
		if m != "" {
			text += "; escalated to " + m
		}
		if rest != "" {
			extra = append(extra, "Escalated to: "+rest)
		}
		text += ". Buttons on this message no longer work."
	case workflows.GateWithdrawn:
		if d != nil && d.Via == workflows.ViaRollback {
			// Closed by a rollback of the run: the finding is still open.
			text = "*Withdrawn*: the run was rolled back" + when + "; nothing more will be contained. Buttons on this message no longer work."
			break
		}
		text = "*Withdrawn*: the detector closed this finding" + when + "; nothing will be contained. Buttons on this message no longer work."
	default:
		text = "*Pending*"
	}
	if byDeadline && gate.State == workflows.GateApproved && len(partial) > 0 {
		text += "\n" + undecided(partial, quorum, &extra)
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwnText(truncate(text, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID(BlockOutcome))}

	for _, r := range reasons(gate) {
		extra = append(extra, "Reason: "+r)
	}
	if len(extra) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(plainText(truncate(strings.Join(extra, "\n"), MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID(BlockReasons)))
	}
	return blocks, verb, color
}

// undecided says how far a gate got before its deadline: nobody decided,
// or who approved and how many of the approvals it needed (names that
// are not Slack ids go to extra, as plain text).
func undecided(approvers []string, quorum int, extra *[]string) string {
	if len(approvers) == 0 {
		return "nobody decided before the deadline"
	}
	m, rest := mentions(approvers)
	text := fmt.Sprintf("%d of %d approvals before the deadline", len(approvers), quorum)
	if m != "" {
		text += " (approved by " + m + ")"
	}
	if rest != "" {
		*extra = append(*extra, "Approved before the deadline by: "+rest)
	}
	return text
}

// reasons collects the distinct reasons given on the closing decision and
// the votes, neutralised.
func reasons(gate workflows.Gate) []string {
	var out []string
	seen := map[string]bool{}
	add := func(r string) {
		r = truncate(neutralize(r, true), MaxReason)
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, v := range gate.Votes {
		add(v.Reason)
	}
	// The reason an on_timeout: approve was not applied is already in the
	// outcome's lines (outcomeBlocks): not twice.
	if gate.Decision != nil && !strings.HasPrefix(gate.Decision.Reason, workflows.ReasonTimeoutNotApplied) {
		add(gate.Decision.Reason)
	}
	return out
}

func viaLabel(via string) string {
	switch via {
	case workflows.ViaSlack:
		return "Slack"
	case workflows.ViaAPI:
		return "the API"
	case workflows.ViaSignal:
		return "a signal"
	case workflows.ViaTimeout:
		return "timeout"
	case workflows.ViaPolicy:
		return "policy"
	case workflows.ViaDryRun:
		return "dry run"
	}
	return plain(via)
}

// EndedBlocks renders the message of a gate whose run Temporal ended
// (terminated, timed out) while it waited: the same summary, no buttons,
// and that the run ended before a decision. It depends on the run's
// history and close only, so every process that closes it writes the same.
func EndedBlocks(g approvals.EndedGate) ([]slack.Block, string, string) {
	req, gate := g.Request, g.Gate
	if g.Run != nil {
		return endedRunBlocks(g)
	}
	blocks := summaryBlocks(req, req.Escalation || gate.Escalated)
	how := endedGateHow(g)
	if g.Ended == approvals.EndedReset {
		how += " (a new approval request replaces this one)"
	}
	var extra []string
	text := "*Closed*: " + how
	if !g.EndedAt.IsZero() {
		text += " · " + slackDate(g.EndedAt)
	}
	text += " before this approval was decided"
	if who := approvedBy(gate.RoundVotes()); len(who) > 0 {
		m, rest := mentions(who)
		text += fmt.Sprintf(" (%d of %d approvals given", len(who), max(gate.Quorum, req.Quorum, 1))
		if m != "" {
			text += ": " + m
		}
		text += ")"
		if rest != "" {
			extra = append(extra, "Approved by: "+rest)
		}
	}
	text += "; nothing will be contained by it. Buttons on this message no longer work."
	blocks = append(blocks, slack.NewSectionBlock(mrkdwnText(truncate(text, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID(BlockOutcome)))
	if len(extra) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(plainText(truncate(strings.Join(extra, "\n"), MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID(BlockReasons)))
	}
	if b := linkBlock(req.RunURL); b != nil {
		blocks = append(blocks, b)
	}
	return blocks, fallback("Closed", req), ColorLow
}

// endedGateHow says how Temporal ended g's run.
func endedGateHow(g approvals.EndedGate) string {
	if g.ResetOfAnother {
		return "the run was terminated by a reset of another run"
	}
	return endedHow(g.Ended)
}

// rollbackCommand is the command that undoes what g's run left in place:
// the workflow's rollback, or, of a run a reset of another run
// terminated (not the workflow's latest run), this run's.
func rollbackCommand(g approvals.EndedGate) string {
	if g.ResetOfAnother && g.RunID != "" {
		return "riposte rollback " + g.WorkflowID + " --run-id " + g.RunID
	}
	return "riposte rollback " + g.WorkflowID
}

// endedHow says how Temporal ended a run (approvals.EndedGate.Ended).
func endedHow(ended string) string {
	switch ended {
	case approvals.EndedTimedOut:
		return "the run timed out"
	case approvals.EndedReset:
		return "the run was reset"
	}
	return "the run was terminated"
}

// endedRunBlocks renders the message of a closed gate whose run Temporal
// ended while the message showed it holding the step's contain_for hold:
// the decision as before, no release time nor extend command (no code of
// the ended run releases the hold or takes an extension), and that the
// containment was not released and stays in place, with the command that
// undoes it. A run whose last update of the message (its outcome) was in
// flight at its end gets that update.
func endedRunBlocks(g approvals.EndedGate) ([]slack.Block, string, string) {
	req, gate, run := g.Request, g.Gate, *g.Run
	if run.Status != workflows.RunHolding {
		return DecidedRunBlocks(req, gate, &run)
	}
	escalated := req.Escalation || (gate.Escalated && gate.State != workflows.GateEscalated)
	blocks := summaryBlocks(req, escalated)
	outcome, verb, color := outcomeBlocks(req, gate)
	blocks = append(blocks, outcome...)

	how := endedGateHow(g)
	var lines []string
	if h := run.Hold; h != nil && h.ReleasedAt == nil {
		label := "*Not released*: "
		if rb := g.RolledBack; rb != nil && rb.Status == "completed" {
			label = "*Rolled back*: "
		}
		line := label + how
		if !g.EndedAt.IsZero() {
			line += " " + slackDate(g.EndedAt)
		}
		line += fmt.Sprintf(" while holding %s, before its release (%s) due %s: ", codeSpan(plain(h.Step)), plain(h.Undo), slackDate(h.Until))
		switch rb := g.RolledBack; {
		case rb == nil:
			line += "the containment was not released and stays in place"
			if g.Ended != approvals.EndedReset && g.WorkflowID != "" {
				line += " · undo it: " + codeSpan(plain(rollbackCommand(g)))
			}
		case rb.Status == "completed":
			line += "the containment was not released; it was rolled back " + slackDate(rb.At) + " (" + codeSpan(plain(rb.ID)) + ")"
		case rb.Status == "running":
			line += "the containment was not released; it is being rolled back (" + codeSpan(plain(rb.ID)) + ", started " + slackDate(rb.At) + ")"
		default:
			line += "the containment was not released, and its rollback " + codeSpan(plain(rb.ID)) + " ended " + plain(rb.Status) + " " + slackDate(rb.At) +
				": the containment may still be in place (see " + codeSpan(plain("riposte runs show "+rb.ID)) + ")"
		}
		lines = append(lines, line)
	} else {
		// The step's hold was released (a rollback, a later step) while
		// others held the run: the message says so; the run has ended.
		held := run
		held.Status = ""
		if b := runStateBlock(req, &held); b != nil {
			if sb, ok := b.(*slack.SectionBlock); ok && sb.Text != nil {
				lines = append(lines, sb.Text.Text)
			}
		}
		line := "*Run ended*: " + how
		if !g.EndedAt.IsZero() {
			line += " · " + slackDate(g.EndedAt)
		}
		lines = append(lines, line)
	}
	blocks = append(blocks, slack.NewSectionBlock(mrkdwnText(truncate(strings.Join(lines, "\n"), MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID(BlockRun)))
	if b := linkBlock(req.RunURL); b != nil {
		blocks = append(blocks, b)
	}
	return blocks, fallback(verb, req), color
}

// CloseEndedGate rewrites the message of a gate whose run Temporal ended
// while it waited (approvals.WatchEndedRuns): the run ended, no buttons;
// or of a closed gate whose run it ended while holding the step's
// containment: not released, stays in place, how to undo it.
func (p *Poster) CloseEndedGate(ctx context.Context, g approvals.EndedGate) error {
	if g.Channel == "" || g.MessageTS == "" {
		return nil
	}
	blocks, fallbackText, cl := EndedBlocks(g)
	if _, _, _, err := p.api.UpdateMessageContext(ctx, g.Channel, g.MessageTS, messageOptions(blocks, fallbackText, cl, false)...); err != nil {
		return classify("chat.update", g.Channel, err)
	}
	return nil
}
