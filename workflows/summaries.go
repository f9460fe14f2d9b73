package workflows

import (
	"fmt"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/mdtext"
	"github.com/riposte-dev/riposte/internal/playbook"
	"go.temporal.io/sdk/workflow"
)

// Readable history: an Update or a signal leaves only its name and its
// (encrypted) arguments in the history, so the Temporal UI's timeline shows
// "decide" or "finding" with nothing to read. Each one that changes a run
// now records a marker whose summary says what happened ("decision on
// isolate by U0SOCLEAD1 via slack: approve (1/1, gate approved)"). Timers
// and activities carry their own summaries where they are scheduled.
//
// Runs recorded before this have no such markers: the change is gated by
// workflow.GetVersion(ChangeHistorySummaries), so their histories replay
// unchanged.

// ChangeHistorySummaries is this feature's workflow.GetVersion change id.
const ChangeHistorySummaries = "ui-history-summaries"

// note records a marker whose summary the Temporal UI shows in the run's
// timeline. The summary must not quote detection text (it is stored as the
// marker's user metadata): callers pass step ids, authenticated user ids,
// Riposte's own state names and times only. The Temporal UI renders it as
// Markdown: a value from outside (a user id, a rollback id) goes through
// mdWho or mdtext.Text (TestSummariesRenderOutsideValuesLiterally).
func note(ctx workflow.Context, summary string) {
	if workflow.GetVersion(ctx, ChangeHistorySummaries, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	_ = workflow.SideEffectWithOptions(ctx, workflow.SideEffectOptions{Summary: oneLine(summary)}, func(workflow.Context) any { return nil })
}

// who renders an authenticated identity for a summary: letters, digits and
// . _ @ + - only, at most 64 characters.
func who(user string) string {
	var b strings.Builder
	for _, c := range user {
		if b.Len() >= 64 {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("._@+-", c):
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "someone"
	}
	return b.String()
}

// mdWho is who(user) for a summary, which the Temporal UI renders as
// Markdown: the characters who keeps (_ . @ + -) are escaped, so that
// "_a_" is not emphasis nor "a@b.example" a link.
func mdWho(user string) string {
	return mdtext.Text(who(user), 100)
}

// plain renders a reason computed from the detection (finding.state_reason
// may quote the record's status text) for a summary: letters, digits,
// spaces and ( ) . _ : - only, at most 80 characters.
func plain(s string) string {
	var b strings.Builder
	for _, c := range s {
		if b.Len() >= 80 {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune(" ()._:-", c):
			b.WriteRune(c)
		}
	}
	return oneLine(b.String())
}

// oneLine keeps a summary on one line (Temporal summaries are single-line).
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// decisionSummary describes a vote and what it did to the gate.
func decisionSummary(d Decision, res DecisionResult) string {
	verb := "deny"
	if d.Approve {
		verb = "approve"
	}
	// "1 of 2", not "1/2": the Temporal UI draws that as a fraction.
	return fmt.Sprintf("decision on %s by %s via %s: %s (%d of %d approvals, gate %s)", d.GateID, mdWho(d.User), d.Via, verb, res.Approvals, res.Quorum, res.State)
}

// stepTitle names a step on its call's summary: its id, and its name
// (free text in the playbook: shown literally).
func stepTitle(cs *playbook.CStep) string {
	if cs.Name != "" {
		return cs.ID + ": " + mdtext.Text(cs.Name, 100)
	}
	return cs.ID
}

// rolledBackSummary is the marker of a run taking a rollback's mark.
func rolledBackSummary(by string, at time.Time, rollbackID string) string {
	// The rollback's id holds the run's, made from the detection's uid.
	return fmt.Sprintf("rolled back by %s at %s (%s)", mdWho(by), at.UTC().Format(time.RFC3339), mdtext.Text(rollbackID, 300))
}

// rollbackWaitSummary is the activity waiting for a rollback's end.
func rollbackWaitSummary(by string) string {
	return fmt.Sprintf("wait for the rollback by %s to end", mdWho(by))
}

// rollbackResultSummary is the marker of what a rollback that did not undo
// everything left held (msg).
func rollbackResultSummary(by, msg string) string {
	// msg may quote the rollback's failure (a vendor's error text).
	return fmt.Sprintf("rollback by %s %s", mdWho(by), mdtext.Text(msg, 500))
}

// extendSummary is the marker of a hold's extension.
func extendSummary(step string, by playbook.Duration, user string, until time.Time) string {
	return fmt.Sprintf("extend %s by %s by %s: releases at %s", step, by, mdWho(user), until.UTC().Format(time.RFC3339))
}

// safeModeSummary is the marker of a safe-mode switch.
func safeModeSummary(mode, by string) string {
	return "safe mode " + mode + " by " + mdWho(by)
}

// withdrawnSummary is the marker of the detector withdrawing the finding.
func withdrawnSummary(reason string, gates, review, undone int) string {
	return fmt.Sprintf("finding withdrawn by the detector (%s): %d gate(s) closed, %d contain step(s) to review, %d undone",
		mdtext.Text(plain(reason), 100), gates, review, undone)
}

// staleWithdrawalSummary is the marker of a withdrawal older than a record
// the run had (rt and seen: Unix milliseconds).
func staleWithdrawalSummary(reason string, rt, seen int64) string {
	return fmt.Sprintf("finding withdrawal (%s) older than a record of the finding the run had (%s before %s): ignored",
		mdtext.Text(plain(reason), 100), time.UnixMilli(rt).UTC().Format(time.RFC3339), time.UnixMilli(seen).UTC().Format(time.RFC3339))
}

// ChangeGateRunState is the workflow.GetVersion change id of this: the
// approval message in Slack follows its run after the gate closed: it
// shows the release time of the step's contain_for hold while the hold is
// active (and after each extension), and the run's outcome when the run
// ends. Runs recorded before this never updated their messages then; the
// change is gated by workflow.GetVersion(ChangeGateRunState).
const ChangeGateRunState = "slack-gate-run-state"

// closedGatesWithMessage lists the closed gates whose request was posted,
// in gate order; only those of step when step is not "".
func (r *run) closedGatesWithMessage(step string) []*gateState {
	var out []*gateState
	for _, id := range r.gateOrder {
		g := r.gates[id]
		if g.MessageTS == "" || g.State == GatePending || (step != "" && g.StepID != step) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// refreshGateMessages rewrites the posted messages of the closed gates (of
// step, or all when step is "") with the run's state: status, outcome once
// ended, and the step's hold.
func (r *run) refreshGateMessages(ctx workflow.Context, status, step string) {
	if !r.outcomes {
		return
	}
	gates := r.closedGatesWithMessage(step)
	if len(gates) == 0 {
		return
	}
	if workflow.GetVersion(ctx, ChangeGateRunState, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	for _, g := range gates {
		st := &GateRunState{Status: status, RunID: r.info.WorkflowExecution.ID}
		if h := r.hold(g.StepID); h != nil {
			c := *h
			c.params = nil
			st.Hold = &c
		}
		summary := "approval message: " + g.StepID + " "
		switch status {
		case RunSucceeded, RunFailed, RunCanceled:
			now := workflow.Now(ctx)
			st.EndedAt = &now
			st.Outcome, st.OutcomeText = r.outcome, OutcomeText(r.outcome, r.outcomeDetail)
			summary += "shows the run's outcome (" + r.outcome + ")"
		default:
			if st.Hold != nil {
				summary += "shows the hold's release at " + st.Hold.Until.UTC().Format(time.RFC3339)
			} else {
				summary += "shows the run " + status
			}
		}
		r.updateGateMessageRun(ctx, g, g.Gate, st, summary)
	}
}
