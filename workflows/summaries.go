package workflows

import (
	"fmt"
	"strings"

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
// Riposte's own state names and times only.
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
	return fmt.Sprintf("decision on %s by %s via %s: %s (%d/%d approvals, gate %s)", d.GateID, who(d.User), d.Via, verb, res.Approvals, res.Quorum, res.State)
}
