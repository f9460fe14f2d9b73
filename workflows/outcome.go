package workflows

import (
	"fmt"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// Outcomes say what a finished run achieved, as opposed to its status
// (whether the workflow itself completed). A denied or timed-out approval is
// a human decision: the run completes, with outcome not_contained or
// partially_contained. They are the values of the Outcome search attribute
// and of Result.Outcome; every component uses these names (this is the one
// place they are defined).
const (
	// OutcomeContained: every containment the run attempted succeeded.
	OutcomeContained = "contained"
	// OutcomePartiallyContained: some containments succeeded, others were
	// denied, timed out, refused by policy or failed (on_failure: continue);
	// a for_each contain step some of whose items failed counts as both.
	OutcomePartiallyContained = "partially_contained"
	// OutcomeNotContained: the run attempted containment and none happened
	// (denied, timed out, refused, failed). OutcomeDetail says why, e.g.
	// "denied by U0SOCLEAD1".
	OutcomeNotContained = "not_contained"
	// OutcomeNoContainment: the run attempted no containment (a triage or
	// notify-only playbook, or every contain step's `if:` was false).
	OutcomeNoContainment = "no_containment"
	// OutcomeWithdrawn: the detection was withdrawn (retracted by its
	// source) before the response finished.
	OutcomeWithdrawn = "withdrawn"
	// OutcomeFailed: a step failed with on_failure: abort; the workflow
	// failed.
	OutcomeFailed = "failed"
)

// Outcomes lists every outcome, for validation and documentation.
func Outcomes() []string {
	return []string{OutcomeContained, OutcomePartiallyContained, OutcomeNotContained, OutcomeNoContainment, OutcomeWithdrawn, OutcomeFailed}
}

// ValidOutcome reports whether s is one of Outcomes.
func ValidOutcome(s string) bool {
	for _, o := range Outcomes() {
		if s == o {
			return true
		}
	}
	return false
}

// outcomeStep is what an outcome needs to know of one step.
type outcomeStep struct {
	id      string
	contain bool
	status  string
	reason  string
	gate    *Gate
	// items and itemsOK: how many for_each items the step had and how
	// many of them succeeded.
	items, itemsOK int
	// undoneBy names the later step that undid every call of this one
	// (its undo action on the same target); undoes marks that later step.
	// Neither counts as containment.
	undoneBy string
	undoes   bool
	// stopped says why a rollback of the run stopped the step (its gate
	// closed, or it or some of its items skipped): a miss, not a
	// containment.
	stopped string
}

// computeOutcome derives the run's outcome from its contain steps. aborted
// and withdrawn take precedence. detail explains not_contained and
// partially_contained (who denied, what timed out).
func computeOutcome(steps []outcomeStep, aborted, withdrawn bool) (outcome, detail string) {
	switch {
	case withdrawn:
		return OutcomeWithdrawn, ""
	case aborted:
		return OutcomeFailed, ""
	}
	succeeded := 0
	var missed []string
	for _, s := range steps {
		if !s.contain || s.undoes {
			continue
		}
		if s.undoneBy != "" {
			missed = append(missed, s.id+" undone by step "+s.undoneBy)
			continue
		}
		if s.stopped != "" && s.itemsOK == 0 {
			missed = append(missed, s.id+" stopped: "+s.stopped)
			continue
		}
		if s.itemsOK > 0 && s.status != playbook.StatusSucceeded {
			// A for_each step contained some of its targets: a
			// containment, and a miss for the others.
			succeeded++
			missed = append(missed, fmt.Sprintf("%s %s (%d of %d items)", s.id, whyMissed(s), s.items-s.itemsOK, s.items))
			continue
		}
		switch s.status {
		case playbook.StatusSucceeded:
			succeeded++
		case playbook.StatusDenied, playbook.StatusTimedOut, playbook.StatusFailed:
			missed = append(missed, s.id+" "+whyMissed(s))
		}
	}
	switch {
	case succeeded == 0 && len(missed) == 0:
		return OutcomeNoContainment, ""
	case len(missed) == 0:
		return OutcomeContained, ""
	case succeeded == 0:
		return OutcomeNotContained, strings.Join(missed, "; ")
	default:
		return OutcomePartiallyContained, strings.Join(missed, "; ")
	}
}

// whyMissed says why a contain step did not contain: "denied by U1",
// "approval timed out", "refused by policy (...)", "failed: ...".
func whyMissed(s outcomeStep) string {
	if s.stopped != "" {
		return "stopped: " + s.stopped
	}
	if g := s.gate; g != nil {
		switch g.State {
		case GateDenied:
			if g.Decision != nil && g.Decision.User != "" {
				return "denied by " + g.Decision.User
			}
			return "denied"
		case GateTimedOut:
			return "approval timed out"
		}
	}
	if s.status == playbook.StatusDenied && s.reason != "" {
		return s.reason
	}
	if s.status == playbook.StatusTimedOut {
		return "timed out"
	}
	return s.status
}

// ChangeOutcomes is the workflow.GetVersion change id of outcomes: runs
// started with it continue after a denied or timed-out gate, run always:
// steps, record an Outcome and HoldUntil, and release dry-run holds at once.
const ChangeOutcomes = "analyst-outcomes"

// computeOutcome computes the run's outcome from its current state.
func (r *run) computeOutcome() (string, string) {
	steps := make([]outcomeStep, len(r.pb.Steps))
	snap := r.snapshot()
	pairs := undonePairs(snap, r.in.Catalog, currentUndoRules)
	// Which of a pair undid the other is which ended later, wherever each
	// is declared (needs may name a step declared below).
	ended := map[int]int{}
	for pos, i := range endOrder(snap) {
		ended[i] = pos
	}
	for i, cs := range r.pb.Steps {
		steps[i] = outcomeStep{
			id:      cs.ID,
			contain: cs.Action != nil && cs.Action.Risk == catalog.RiskContain,
			status:  r.results[i].Status,
			reason:  r.results[i].Reason,
			gate:    r.results[i].Gate,
			items:   len(r.results[i].Items),
		}
		for _, it := range r.results[i].Items {
			if it.Status == playbook.StatusSucceeded {
				steps[i].itemsOK++
			}
			if r.rollbackWhy != "" && it.Status == playbook.StatusSkipped && it.Error == r.rollbackStop() {
				steps[i].stopped = r.rollbackWhy
			}
		}
		if g := r.results[i].Gate; r.rollbackWhy != "" && (r.results[i].Reason == r.rollbackStop() ||
			(g != nil && g.State == GateWithdrawn && g.Decision != nil && g.Decision.Via == ViaRollback)) {
			steps[i].stopped = r.rollbackWhy
		}
		if allPaired(pairs, snap, i) {
			// Every call of the step was undone by, or undid, another
			// step of the run: the pair contained nothing.
			by := pairedWith(pairs, i, succeededCalls(snap[i])[0].index)
			if ended[by] > ended[i] {
				steps[i].undoneBy = snap[by].ID
			} else {
				steps[i].undoes = true
			}
		}
	}
	return computeOutcome(steps, r.aborted, r.withdrawn)
}

// OutcomeText is the outcome as one line: "not_contained: isolate denied by U1".
func OutcomeText(outcome, detail string) string {
	if detail == "" {
		return outcome
	}
	return fmt.Sprintf("%s: %s", outcome, detail)
}
