package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// A withdrawn run keeps running while it finishes its read and notify
// steps and for as long as it holds containment (contain_for). A record
// that reopens its finding then reaches it, not a new run: the intake
// starts a new run under the workflow id only once the last one has
// ended. Before changeReopenContinues the run ignored such a record: the
// reopened finding got no response until the run ended, hours later, and
// the hold released its containment on time although the finding was
// active again. Now the run continues as a new run of the playbook for
// the reopening record (continue-as-new, once nothing it started is in
// flight), handing over what it still holds:
//   - Input.ReopenedFrom names it: a call of the new run that finds
//     containment in place which it applied and did not undo takes it
//     over (catalog.Call.ContinuedFrom, read from its history as a reset
//     run reads the run it was reset from), held and undone as the new
//     run's own;
//   - Input.Inherited lists its holds: the new run releases each when it
//     falls due, unless one of its own contain calls took the target over
//     (tookOver), so a containment the new run does not apply
//     again is still released on time.

// changeReopenContinues is the GetVersion change id of a withdrawn run
// continuing as a new run for a record that reopens its finding. Runs
// recorded before ignored the record, and replay so.
const changeReopenContinues = "reopen-continues"

// InheritedPrefix starts the Step of an inherited hold (and so the step id
// of its release call, "inherited:STEP.release", which the worker reads
// along a chain of reopenings: internal/system).
const InheritedPrefix = "inherited:"

// reopening reports whether u reopens the finding of the withdrawn run:
// an active record later than the withdrawing one, and its record time.
func (r *run) reopening(u FindingUpdate) (int64, bool) {
	state, _ := u.Finding["state"].(string)
	rt, timed := finding.RecordTime(u.Detection)
	w := r.withdrawal
	if w == nil || state == finding.StateWithdrawn || !timed || w.RecordTime <= 0 || rt <= w.RecordTime {
		return 0, false
	}
	return rt, true
}

// reopen takes a record that reopens the withdrawn run's finding: the run
// continues as a new run for it once its steps and lifecycle work end
// (Run, continueReopened), with the latest such record it was sent.
func (r *run) reopen(ctx workflow.Context, u FindingUpdate) (string, bool) {
	rt, ok := r.reopening(u)
	if !ok || r.input.Rev < RevReopenContinues || workflow.GetVersion(ctx, changeReopenContinues, workflow.DefaultVersion, 1) < 1 {
		return "", false
	}
	if r.reopened != nil {
		// Not yet continued (its steps in flight): the latest record
		// starts the new run.
		if prev, _ := finding.RecordTime(r.reopened.Detection); rt <= prev {
			return "finding record not later than the one that reopened it: the new run starts with that one", true
		}
		r.reopened = &u
		return "a later record of the reopened finding: the new run starts with it", true
	}
	r.reopened = &u
	why := fmt.Sprintf("finding reopened by the detector (record of %s, after the withdrawal of %s): the run continues as a new run of the playbook for it",
		time.UnixMilli(rt).UTC().Format(time.RFC3339), time.UnixMilli(r.withdrawal.RecordTime).UTC().Format(time.RFC3339))
	if r.nextHold() != nil {
		why += ", which takes over the containment this run holds"
	}
	return why, true
}

// continuesReopened reports, once the run's steps and lifecycle work have
// ended, whether it continues as a new run for a reopening record. A
// reopening that a later Close cancelled while it was pending
// (closedAgain) leaves holds the watcher stopped releasing: they are
// released here, as planned, unless another reopening record arrives
// meanwhile. A rollback whose outcome the run awaits may fail and hold
// again what it did not undo: awaited, so that is handed over too. No
// command: runs that were never reopened pass straight through.
func (r *run) continuesReopened(ctx workflow.Context) bool {
	for ctx.Err() == nil {
		for r.reopened == nil && r.nextHold() != nil && ctx.Err() == nil {
			r.releaseDue(ctx)
		}
		if r.reopened == nil || ctx.Err() != nil {
			return false
		}
		_ = workflow.Await(ctx, func() bool { return r.rollbackWaits == 0 || r.reopened == nil })
		if r.reopened != nil && r.rollbackWaits == 0 {
			return true
		}
	}
	return false
}

// continueReopened ends the run by continuing it as a new run for the
// reopening record: the same playbook version and settings, the record's
// detection and view, its submitter as the requester, and the holds not
// released (nor being released: the watcher lets a release in progress
// finish first).
func (r *run) continueReopened(ctx workflow.Context) error {
	status := RunSucceeded
	if r.aborted {
		status = RunFailed
	}
	if r.outcomes {
		r.outcome, r.outcomeDetail = r.computeOutcome()
	}
	// Its own record in the runs list says how this response ended.
	r.endRun(ctx, status)
	u := r.reopened
	next := *r.input
	next.Detection, next.Finding = u.Detection, u.Finding
	if u.By != "" {
		next.Requester = u.By
	}
	next.ReopenedFrom = r.info.WorkflowExecution.RunID
	next.Inherited = nil
	for _, h := range r.holds {
		if h.ReleasedAt != nil && h.Error != "" {
			if ih, ok := r.handOverFailedRelease(ctx, h); ok {
				next.Inherited = append(next.Inherited, ih)
			}
			continue
		}
		if h.ReleasedAt != nil || h.releasing {
			continue
		}
		// A target undone since (a later step, a failed rollback's
		// UndoneTargets) is marked in h.undone: not handed over.
		if left := h.left(); len(left) > 0 {
			next.Inherited = append(next.Inherited, InheritedHold{Step: strings.TrimPrefix(h.Step, InheritedPrefix), Undo: h.Undo,
				Until: h.Until, Extensions: h.Extensions, Targets: left})
		}
	}
	note(ctx, fmt.Sprintf("continued as a new run for the reopened finding, with %d hold(s) handed over", len(next.Inherited)))
	return workflow.NewContinueAsNewError(ctx, r.info.WorkflowType.Name, next)
}

// changeReopenFailedRelease: a withdrawn run continuing for its reopened
// finding hands over a hold whose release failed (InheritedHold
// ReleaseFailedAt): the run it continues as lists it and its rollback
// undoes it. Before, only the holds not released were handed over: the
// containment whose undo the vendor refused stayed in place with no run
// listing it, and the rollback of the finding (the API plans the latest
// run) left it. Asked only when such a hold has a target to hand over.
const changeReopenFailedRelease = "reopen-failed-release"

// handOverFailedRelease is h, whose release failed, as the run it
// continues as inherits it: the targets whose undo failed (FailedTargets),
// save those acted on since and so no longer this run's to undo: by a
// later step of the run (actedOnSince, as InheritedUndoCallsOf leaves
// them out), by the run's withdrawal (on_withdraw: rollback), or by a
// rollback whose mark the run took after the release failed (it planned
// the hold, and a retry of it would undo it a second time). A rollback
// that failed, as the run learnt from its outcome, leaves the targets it
// did not undo in place: those are handed over (a retry of it plans the
// run this one continues as, the latest), the others left out.
func (r *run) handOverFailedRelease(ctx workflow.Context, h *Hold) (InheritedHold, bool) {
	rolledBack := r.rolledBack != nil && !r.rolledBack.At.Before(*h.ReleasedAt)
	if h.Undo == "" || (rolledBack && r.rolledBack.Failed == "") {
		return InheritedHold{}, false
	}
	steps := r.snapshot()
	var failed []map[string]any
	for _, p := range h.FailedTargets {
		if actedOnSince(steps, h.Undo, p, *h.ReleasedAt, r.in.Catalog) || r.withdrawalUndid(h, p) || (rolledBack && r.rollbackUndidTarget(h, p)) {
			continue
		}
		failed = append(failed, p)
	}
	if len(failed) == 0 || workflow.GetVersion(ctx, changeReopenFailedRelease, workflow.DefaultVersion, 1) < 1 {
		return InheritedHold{}, false
	}
	at := *h.ReleasedAt
	return InheritedHold{Step: strings.TrimPrefix(h.Step, InheritedPrefix), Undo: h.Undo, Until: h.Until, Extensions: h.Extensions,
		ReleaseFailedAt: &at, ReleaseError: h.Error, FailedTargets: failed}, true
}

// rollbackUndidTarget reports whether a rollback whose outcome the run read
// undid target p of hold h (an undo call of its step that succeeded).
func (r *run) rollbackUndidTarget(h *Hold, p map[string]any) bool {
	return slices.ContainsFunc(r.rollbackUndid, func(u UndoResult) bool {
		return u.Step == h.Step && u.Undo == h.Undo && sameTargetBy(targetKeys, p, u.Params)
	})
}

// withdrawalUndid reports whether the run's withdrawal undid target p of
// hold h (on_withdraw: rollback, an undo call of its step that
// succeeded).
func (r *run) withdrawalUndid(h *Hold, p map[string]any) bool {
	if r.withdrawal == nil {
		return false
	}
	return slices.ContainsFunc(r.withdrawal.RolledBack, func(u UndoResult) bool {
		return u.Step == h.Step && u.Undo == h.Undo && u.Status == playbook.StatusSucceeded && sameTargetBy(targetKeys, p, u.Params)
	})
}

// takeOverInherited starts a run that continues a withdrawn one (Input
// ReopenedFrom): its search attributes, copied from that run's end, say
// it runs, and the holds it inherited wait for their release.
func (r *run) takeOverInherited(ctx workflow.Context) {
	if r.input.ReopenedFrom == "" {
		return
	}
	// Copied from the withdrawn run's end: its outcome, and a rollback of
	// it, are not this run's.
	if err := workflow.UpsertTypedSearchAttributes(ctx, SARunStatus.ValueSet(RunRunning), SAOutcome.ValueUnset(),
		SARolledBackBy.ValueUnset(), SARolledBackAt.ValueUnset()); err != nil {
		workflow.GetLogger(ctx).Warn("cannot update RunStatus", "error", err)
	}
	for _, ih := range r.input.Inherited {
		if ih.ReleaseFailedAt != nil && ih.Undo != "" && len(ih.FailedTargets) > 0 {
			// Its release failed in the run this one continues: nothing
			// releases it again, and this run's rollback undoes it.
			at := *ih.ReleaseFailedAt
			r.holds = append(r.holds, &Hold{Step: InheritedPrefix + ih.Step, Undo: ih.Undo, Until: ih.Until, Extensions: ih.Extensions,
				ReleasedAt: &at, Error: ih.ReleaseError, FailedTargets: ih.FailedTargets, InheritedFrom: r.input.ReopenedFrom,
				params: ih.FailedTargets, releasing: true})
			continue
		}
		if ih.Undo == "" || len(ih.Targets) == 0 {
			continue
		}
		r.holds = append(r.holds, &Hold{Step: InheritedPrefix + ih.Step, Undo: ih.Undo, Until: ih.Until,
			Extensions: ih.Extensions, InheritedFrom: r.input.ReopenedFrom, params: ih.Targets})
	}
	if r.nextHold() != nil {
		r.watchHolds(ctx)
	}
}

// tookOver drops from the inherited holds the target of a contain call of
// this run that succeeded without finding its containment someone
// else's (not catalog.OutputPreexisting): it applied it, or took over what
// the run it continues applied. The call's own step holds it now (its
// contain_for) or keeps it (none); the inherited release must not lift
// it.
func (r *run) tookOver(cs *playbook.CStep, params map[string]any, out any) {
	if r.input.ReopenedFrom == "" || cs.Action == nil || cs.Action.Risk != catalog.RiskContain || preexistingOutput(out) {
		return
	}
	kept := r.holds[:0]
	for _, h := range r.holds {
		if h.InheritedFrom != "" && h.ReleasedAt == nil && !h.releasing && h.Undo == cs.Action.Undo {
			var left []map[string]any
			var undone map[int]bool // keyed by index: renumbered with left
			for n, p := range h.params {
				if !sameTargetBy(targetKeys, p, params) {
					if h.undone[n] {
						if undone == nil {
							undone = map[int]bool{}
						}
						undone[len(left)] = true
					}
					left = append(left, p)
				}
			}
			h.params, h.undone = left, undone
			if len(left) == 0 {
				continue // taken over whole
			}
		}
		kept = append(kept, h)
	}
	r.holds = kept
}

// serialInherited keeps a contain call of a run that continues a withdrawn
// one apart from the release of a hold it inherited with the same undo
// action: the call waits while such a release runs (then finds what the
// release left), and counts as in flight (r.containing) until its result
// has taken over the inherited target (tookOver), so the release of a hold
// falling due meanwhile waits and skips what the call took over. Side by
// side, the call found the containment in place and took it over, and the
// release then lifted it. It returns what ends the call's count; no
// command, and nothing in runs that continue none.
func (r *run) serialInherited(ctx workflow.Context, cs *playbook.CStep) func(params map[string]any, out any) {
	if r.input.ReopenedFrom == "" || cs.Action == nil || cs.Action.Risk != catalog.RiskContain || cs.Action.Undo == "" {
		return func(map[string]any, any) {}
	}
	undo := cs.Action.Undo
	_ = workflow.Await(ctx, func() bool {
		for _, h := range r.holds {
			if h.InheritedFrom != "" && h.Undo == undo && h.releasing && h.ReleasedAt == nil {
				return false
			}
		}
		return true
	})
	if r.containing == nil {
		r.containing = map[string]int{}
	}
	r.containing[undo]++
	return func(params map[string]any, out any) {
		if params != nil {
			r.tookOver(cs, params, out)
		}
		r.containing[undo]--
	}
}

// changeReopenClosedAgain: a withdrawing record later than the one that
// withdrew the run moves the withdrawal's record time (Withdrawal
// RecordTime), so that a reopening record older than it, delivered after
// it (queues deliver out of order), reopens nothing. Before, the run
// ignored it and continued as a new run for the older reopening record,
// containing again a finding its detector had closed since. Asked only
// when it applies.
const changeReopenClosedAgain = "reopen-closed-again"

// changeReopenCancelled: a withdrawing record later than the reopening
// record still pending (the run's steps still ran) cancels the reopening:
// the run does not continue, and releases its holds as planned. Before,
// it continued for a finding its detector had closed since. Asked only
// when it applies.
const changeReopenCancelled = "reopen-cancelled"

// closedAgain takes a withdrawing record of the withdrawn run's finding
// later than the latest it had (see changeReopenClosedAgain); when a
// reopening record is pending and older than it, it cancels the
// reopening (changeReopenCancelled).
func (r *run) closedAgain(ctx workflow.Context, u FindingUpdate) (string, bool) {
	w := r.withdrawal
	state, _ := u.Finding["state"].(string)
	rt, timed := finding.RecordTime(u.Detection)
	if w == nil || state != finding.StateWithdrawn || !timed || w.RecordTime <= 0 || rt <= w.RecordTime {
		return "", false
	}
	if r.reopened != nil {
		// A reopening pending (the run's steps still run): a Close
		// later than its record cancels it.
		reopenedAt, _ := finding.RecordTime(r.reopened.Detection)
		if rt <= reopenedAt || workflow.GetVersion(ctx, changeReopenCancelled, workflow.DefaultVersion, 1) < 1 {
			return "", false
		}
		r.reopened = nil
		w.RecordTime = rt
		return fmt.Sprintf("finding closed again by the detector (record of %s) before the run continued for its reopening: it does not continue, and releases what it holds as planned",
			time.UnixMilli(rt).UTC().Format(time.RFC3339)), true
	}
	if workflow.GetVersion(ctx, changeReopenClosedAgain, workflow.DefaultVersion, 1) < 1 {
		return "", false
	}
	w.RecordTime = rt
	return fmt.Sprintf("finding closed again by the detector (record of %s): only a record later than it reopens the finding",
		time.UnixMilli(rt).UTC().Format(time.RFC3339)), true
}
