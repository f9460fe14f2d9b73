package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/mdtext"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
)

// Time-boxed containment: a contain step with contain_for is released by its
// undo action when a durable timer fires, unless someone extends it.
const (
	// UpdateExtend extends a step's containment. Input ExtendRequest.
	UpdateExtend = "extend"
	// RunHolding is the run status while containments wait for release.
	RunHolding = playbook.StatusHolding
)

// ExtendRequest extends the containment of one step.
type ExtendRequest struct {
	Step string            `json:"step"`
	By   playbook.Duration `json:"by"`
	User string            `json:"user"`
	// Credential: what authenticated User, covered by the seal (see
	// Decision.Credential); set only while every worker verifies it
	// (engine.ControlCredentialMarker).
	Credential string `json:"credential,omitempty"`
	// RunID: the run the extension was sealed for (see Decision.RunID).
	RunID string `json:"run_id,omitempty"`
	// Via and Seal: set by the signer (see Decision.Seal).
	Via  string        `json:"via,omitempty"`
	Seal *signing.Seal `json:"seal,omitempty"`
}

// Hold is a time-boxed containment and its release.
type Hold struct {
	Step       string     `json:"step"`
	Undo       string     `json:"undo"`
	Until      time.Time  `json:"until"`
	Extensions []string   `json:"extensions,omitempty"`
	ReleasedAt *time.Time `json:"released_at,omitempty"`
	Error      string     `json:"error,omitempty"`
	// UndoneTargets are the targets (their params) of a hold still in
	// place that a rollback which failed for the others undid: the run's
	// release and a retried rollback skip them (releasedBy).
	UndoneTargets []map[string]any `json:"undone_targets,omitempty"`
	// InheritedFrom is the withdrawn run that held it before this run
	// continued it (Input.Inherited); Step is then InheritedPrefix and
	// that run's step id, so that nothing keyed by this run's step ids
	// (releases, rollback marks, undo pairing) takes it for the step's.
	InheritedFrom string `json:"inherited_from,omitempty"`
	// Targets are the targets (params) an inherited hold still holds:
	// what its release undoes. Only in the views of a run's holds (the
	// holds query, the result), and only for inherited holds: a step's
	// hold has its step's params. A rollback of the run leaves inherited
	// holds to their release, and the API says which stay in place, on
	// what (internal/api, inherited_holds_left).
	Targets []map[string]any `json:"targets,omitempty"`
	// FailedTargets are the targets (params) whose undo failed when the
	// hold was released (Error says why): the others were released. State
	// only, not a command: a history recorded before it replays the same,
	// and a hold recorded before it has none (its rollback plans every
	// target, as before). An inherited hold's rollback plans these only
	// (InheritedUndoCallsOf).
	FailedTargets []map[string]any `json:"failed_targets,omitempty"`
	params        []map[string]any
	// undone marks the targets (indexes of params) a later step of the run
	// undid while the others stay held; the release skips them. State
	// only, not serialised.
	undone map[int]bool
	// releasing is set when the release begins, before any undo call:
	// from then on an extension is refused (the undo may be retried for
	// a while before ReleasedAt is set). State only, not serialised.
	releasing bool
}

// changeHoldPreexisting: containment a step found already in place is
// not held (its contain_for would release what someone else applied).
const changeHoldPreexisting = "hold-preexisting"

// heldElsewhere reports whether a succeeded call's containment was in place
// before the step (catalog.OutputPreexisting), so the step's contain_for
// does not hold it. It records its version marker only when that changes
// something: a step with contain_for whose call found it so (a marker is
// an event and a search attribute upsert).
func (r *run) heldElsewhere(ctx workflow.Context, cs *playbook.CStep, out any) bool {
	return cs.ContainFor > 0 && preexistingOutput(out) && workflow.GetVersion(ctx, changeHoldPreexisting, workflow.DefaultVersion, 1) >= 1
}

// addHold records a succeeded contain step with contain_for.
func (r *run) addHold(ctx workflow.Context, cs *playbook.CStep, params []map[string]any) {
	if cs.ContainFor <= 0 || cs.Action == nil || cs.Action.Risk != catalog.RiskContain || cs.Action.Undo == "" {
		return
	}
	until := workflow.Now(ctx).Add(cs.ContainFor.D())
	if r.outcomes && r.input.Simulated() {
		// Nothing was contained: a dry run releases (simulated) at once
		// instead of sitting "holding" for contain_for.
		until = workflow.Now(ctx)
	}
	r.holds = append(r.holds, &Hold{Step: cs.ID, Undo: cs.Action.Undo, Until: until, params: params})
	r.watchHolds(ctx)
}

// changeHoldsWhileRunning: a hold falls due on time while later steps of
// the run still run or wait (before, its timer started once every step
// had ended, so a contain_for: 1h behind a gate waiting 6h held 6h).
const changeHoldsWhileRunning = "holds-while-running"

// watchHolds starts, with the run's first hold, a coroutine that releases
// each hold when it falls due (releaseDue), while the steps still run and
// after (releaseHolds then waits for it). One timer per release, as before.
func (r *run) watchHolds(ctx workflow.Context) {
	if r.watchingHolds || r.stepsDone || !r.outcomes || r.input.Simulated() ||
		workflow.GetVersion(ctx, changeHoldsWhileRunning, workflow.DefaultVersion, 1) < 1 {
		return
	}
	r.watchingHolds, r.watched = true, true
	if r.root != nil {
		ctx = r.root // the steps' context ends with them
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { r.watchingHolds = false }()
		r.releaseDue(ctx)
	})
}

// releaseDue releases each pending hold when it falls due, until none is
// pending once the steps have ended, or the run is cancelled. While the
// steps run (watchHolds) it waits for new holds too and keeps HoldUntil
// current; after them (releaseHolds, runs recorded before
// holds-while-running) the run's end clears HoldUntil.
func (r *run) releaseDue(ctx workflow.Context) {
	for ctx.Err() == nil { // cancelled: releaseHolds notes the holds
		if r.reopened != nil {
			return // handed over to the run this one continues as
		}
		next := r.nextHold()
		if next == nil {
			// A rollback whose mark released the holds may yet fail and
			// hold some again (awaitRollback).
			if r.stepsDone && r.rollbackWaits == 0 {
				return
			}
			_ = workflow.Await(ctx, func() bool {
				return (r.stepsDone && r.rollbackWaits == 0) || r.nextHold() != nil || r.reopened != nil
			})
			continue
		}
		until := next.Until
		if wait := until.Sub(workflow.Now(ctx)); wait > 0 {
			if r.outcomes {
				r.upsertHoldUntil(ctx)
			}
			// Wake early when an extension moves the deadline, a rollback
			// or a later step releases it, or a new hold falls due first.
			_, _ = workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout:      wait,
				TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("contain_for: release %s at %s (%s)", next.Step, until.UTC().Format(time.RFC3339), next.Undo)},
			}, func() bool {
				return !next.Until.Equal(until) || next.ReleasedAt != nil || r.nextHold() != next || r.reopened != nil
			})
			if ctx.Err() != nil || r.reopened != nil {
				continue
			}
			if !next.Until.Equal(until) && next.ReleasedAt == nil && r.outcomes {
				// Extended: the approval message shows the new time.
				r.refreshGateMessages(ctx, RunHolding, next.Step)
			}
			if !next.Until.Equal(until) || next.ReleasedAt != nil || workflow.Now(ctx).Before(next.Until) {
				if next.ReleasedAt != nil && !r.stepsDone {
					r.upsertHoldUntil(ctx) // released by a rollback or a later step
				}
				continue
			}
		}
		if next.InheritedFrom != "" && r.containing[next.Undo] > 0 {
			// A contain call with its undo is in flight and may take
			// the target over (serialInherited): then it is not released.
			_ = workflow.Await(ctx, func() bool { return r.containing[next.Undo] == 0 })
			continue
		}
		r.release(ctx, next)
		if !r.stepsDone {
			r.upsertHoldUntil(ctx)
		}
	}
}

// stepsEnded tells watchHolds the steps have ended: it returns once no
// hold is pending.
func (r *run) stepsEnded() { r.stepsDone = true }

// nextHold is the pending hold that falls due first (nil: none).
func (r *run) nextHold() *Hold {
	var next *Hold
	for _, h := range r.holds {
		if h.ReleasedAt == nil && !h.releasing && (next == nil || h.Until.Before(next.Until)) {
			next = h
		}
	}
	return next
}

// SignalRolledBack tells a run that a rollback workflow undid its
// containment (input RolledBack): the run records who and when, and its
// pending holds are not released a second time.
const SignalRolledBack = "rolled_back"

// RolledBack is the input of SignalRolledBack.
type RolledBack struct {
	By         string    `json:"by"`
	At         time.Time `json:"at"`
	RollbackID string    `json:"rollback_id"`
	// RollbackRunID is the rollback workflow's run. With it the run waits
	// for the rollback's outcome before it ends, and holds again what a
	// failed rollback did not undo (changeRollbackOutcome); marks sent
	// before it existed have none and are not waited on. Not covered by
	// the seal, so that workers of earlier releases, which verify the
	// claim without it, still take the mark: it only says which run of
	// the sealed RollbackID to read, and that run's outcome is read from
	// Temporal, never from the mark.
	RollbackRunID string `json:"rollback_run_id,omitempty"`
	// Failed is set by the run, not the sender: the rollback failed, and
	// what became of the containment the mark had released.
	Failed string `json:"failed,omitempty"`
	// RunID is the run the mark was sealed for, covered by the seal: a run
	// refuses a mark sealed for another run of its workflow id
	// (sealForThisRun), such as one copied from the history of the run a
	// reopened finding's new run replaced. Empty on marks sealed before it
	// existed, or while a worker of an earlier release polls
	// (engine.RolledBackRunMarker).
	RunID string `json:"run_id,omitempty"`
	// Via and Seal: set by the signer (see RolledBackClaim).
	Via  string        `json:"via,omitempty"`
	Seal *signing.Seal `json:"seal,omitempty"`
}

// listenRolledBack handles SignalRolledBack (runs with outcomes only).
func (r *run) listenRolledBack(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, SignalRolledBack)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var rb RolledBack
			ch.Receive(ctx, &rb)
			// A mark taken after the first (a retry's) must carry a seal
			// this run has not received: the seal does not cover
			// RollbackRunID, so a copy of an earlier mark read back from
			// the history could otherwise name another run of the
			// rollback (one that succeeded for an earlier run of this
			// finding) and leave the holds released, not undone. State
			// only: no run took a second mark before
			// rollback-outcome-awaited.
			if r.rolledBack != nil && r.sealUsed(rb.Seal) {
				workflow.GetLogger(ctx).Warn("audit: rolled_back signal refused", "by", rb.By, "via", rb.Via, "refusal", "replayed: this run already received that mark")
				continue
			}
			// A retry's mark may arrive before the run has learnt that the
			// rollback it waits for failed (the API allows the retry once
			// that rollback run has failed; the outcome activity may still
			// be retrying): it is taken once the run knows, not dropped. No
			// version marker: rollbackWaits > 0 only in runs that took
			// rollback-outcome-awaited.
			if rb.By != "" && rb.RollbackRunID != "" && r.rollbackWaits > 0 && r.rolledBack != nil &&
				r.rolledBack.Failed == "" && r.rolledBack.RollbackRunID != rb.RollbackRunID {
				_ = workflow.Await(ctx, func() bool { return r.rollbackWaits == 0 })
			}
			// One rollback at a time; after a failed one, a retry's mark
			// is taken.
			if rb.By == "" || (r.rolledBack != nil && (r.rolledBack.Failed == "" || r.rolledBack.RollbackRunID == rb.RollbackRunID)) {
				continue
			}
			rb.Failed = ""
			if workflow.GetVersion(ctx, ChangeSignedLifecycle, workflow.DefaultVersion, 1) >= 1 {
				err := r.in.Keys.Verify(RolledBackClaim(r.info.WorkflowExecution.ID, rb), rb.Seal)
				if err == nil {
					err = r.sealForThisRun(rb.RunID)
				}
				if err == nil {
					err = r.sealFromEarlierRun(ctx, rb.Seal)
				}
				if err == nil {
					err = retiredKey(ctx, r.in.Keys, rb.Seal, workflow.Now(ctx))
				}
				if err != nil {
					workflow.GetLogger(ctx).Warn("audit: rolled_back signal refused", "by", rb.By, "via", rb.Via, "refusal", err.Error())
					continue
				}
			}
			r.useSeal(rb.Seal)
			now := workflow.Now(ctx)
			rb.At = now
			r.rolledBack = &rb
			var released []*Hold
			for _, h := range r.holds {
				// An inherited hold is not among the steps the rollback
				// undid: it keeps its release.
				if h.ReleasedAt == nil && h.InheritedFrom == "" {
					h.ReleasedAt = &now
					h.Extensions = append(h.Extensions, releasedByRollback+rb.RollbackID+" ("+rb.By+")")
					released = append(released, h)
				}
			}
			r.stopOnRollback(ctx, rb, now)
			workflow.SetCurrentDetails(ctx, r.details(r.currentStatus()))
			note(ctx, rolledBackSummary(rb.By, now, rb.RollbackID))
			if err := workflow.UpsertTypedSearchAttributes(ctx, SARolledBackBy.ValueSet(rb.By), SARolledBackAt.ValueSet(now)); err != nil {
				workflow.GetLogger(ctx).Warn("cannot record the rollback", "error", err)
			}
			if len(released) > 0 && rb.RollbackRunID != "" &&
				workflow.GetVersion(ctx, changeRollbackOutcome, workflow.DefaultVersion, 1) >= 1 {
				r.awaitRollback(ctx, r.rolledBack, released)
			} else if len(released) == 0 && rb.RollbackRunID != "" && r.failedReleaseHeld() &&
				workflow.GetVersion(ctx, changeRollbackAwaitsFailedRelease, workflow.DefaultVersion, 1) >= 1 {
				r.awaitRollback(ctx, r.rolledBack, nil)
			}
		}
	})
}

// changeRollbackOutcome: a run whose holds a rollback's mark released
// waits for that rollback's outcome before it ends (ActivityRollbackOutcome)
// and, when the rollback failed, holds again each containment it did not
// undo, released at contain_for as planned. Before, the mark released the
// holds for good when the rollback started: a failed rollback left
// containment in place with no release time, and the run said "rolled
// back". Asked only for a mark that names its rollback run and released
// a hold.
const changeRollbackOutcome = "rollback-outcome-awaited"

// changeRollbackAwaitsFailedRelease: a run whose rollback mark released
// no hold, while it holds one whose release failed (still in place: the
// rollback plans it), waits for that rollback's outcome too. A withdrawn
// run continuing for its reopened finding hands such a hold over unless
// the rollback undid it (handOverFailedRelease): before, it never learnt
// that the rollback failed, and dropped the hold as undone. Asked only
// then.
const changeRollbackAwaitsFailedRelease = "rollback-awaits-failed-release"

// failedReleaseHeld reports whether a hold of the run was released with
// an error: its containment (some of it) is still in place.
func (r *run) failedReleaseHeld() bool {
	return slices.ContainsFunc(r.holds, func(h *Hold) bool { return h.ReleasedAt != nil && h.Error != "" && h.Undo != "" })
}

// ActivityRollbackOutcome waits for a rollback workflow to end and reports
// how (input RollbackOutcomeInput, result RollbackOutcome). It reads the
// outcome from Temporal, whoever asks: nothing in a signal decides it.
const ActivityRollbackOutcome = "riposte.rollback.outcome"

// RollbackOutcomeInput names the rollback run to wait for.
type RollbackOutcomeInput struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// RollbackOutcome is how a rollback run ended: Completed, or not (Error
// says how: its undo failures, terminated, timed out, not found), with the
// undo results it recorded.
type RollbackOutcome struct {
	Completed bool         `json:"completed"`
	Error     string       `json:"error,omitempty"`
	Undo      []UndoResult `json:"undo,omitempty"`
}

// awaitRollback waits, beside the run, for the outcome of the rollback
// whose mark released holds; the run does not end before it has (releaseDue).
func (r *run) awaitRollback(ctx workflow.Context, rb *RolledBack, released []*Hold) {
	r.rollbackWaits++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { r.rollbackWaits-- }()
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			// A rollback retries each undo for minutes; the activity
			// heartbeats while it waits, and is retried on another worker
			// when this one is lost.
			StartToCloseTimeout: 24 * time.Hour,
			HeartbeatTimeout:    time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumInterval: time.Minute},
			Summary:             rollbackWaitSummary(rb.By),
		})
		var out RollbackOutcome
		err := workflow.ExecuteActivity(actx, ActivityRollbackOutcome, RollbackOutcomeInput{WorkflowID: rb.RollbackID, RunID: rb.RollbackRunID}).Get(ctx, &out)
		if ctx.Err() != nil {
			return // cancelled: the run notes its holds as it ends
		}
		if err != nil {
			out = RollbackOutcome{Error: "its outcome could not be read: " + errorMessage(err)}
		}
		r.rollbackEnded(ctx, rb, released, out)
	})
}

// rollbackEnded holds again what the rollback released by its mark but
// did not undo. A rollback that failed: each target of a released hold for
// which no undo succeeded. One that succeeded: each hold whose step it did
// not plan at all (the step ended after the API read the run to plan the
// rollback, before the mark). A hold whose targets were all undone stays
// released, its note saying by which rollback, so that a retry does not
// plan it again (HoldsForRollback reads only the mark's note as in place).
func (r *run) rollbackEnded(ctx workflow.Context, rb *RolledBack, released []*Hold, out RollbackOutcome) {
	mark := releasedByRollback + rb.RollbackID + " (" + rb.By + ")"
	for _, u := range out.Undo {
		if u.Status == playbook.StatusSucceeded {
			r.rollbackUndid = append(r.rollbackUndid, u)
		}
	}
	why := out.Error
	if why == "" {
		why = "it failed"
	}
	var held []string
	for _, h := range released {
		i := slices.Index(h.Extensions, mark)
		if i < 0 || h.releasing {
			continue // released since by its own timer
		}
		planned := slices.ContainsFunc(out.Undo, func(u UndoResult) bool { return u.Step == h.Step })
		if out.Completed && planned {
			continue
		}
		var undone []int
		type lift struct {
			n  int
			by string
		}
		var lifted []lift
		left := 0
		for n, p := range h.params {
			if h.undone[n] {
				continue
			}
			if by := r.liftedByStep(h, p); by != "" {
				lifted = append(lifted, lift{n, by}) // while the mark had it released (undoneBy skips released holds)
				continue
			}
			if slices.ContainsFunc(out.Undo, func(u UndoResult) bool {
				return u.Step == h.Step && u.Status == playbook.StatusSucceeded && sameTargetBy(targetKeys, u.Params, p)
			}) {
				undone = append(undone, n)
				continue
			}
			left++
		}
		if left == 0 {
			// Nothing left in place: say what lifted it.
			switch {
			case len(undone) > 0:
				h.Extensions[i] = fmt.Sprintf("undone by %s (%s)", rb.RollbackID, rb.By)
			case len(lifted) > 0:
				h.Extensions[i] = releasedEarlyBy + lifted[0].by
			}
			continue
		}
		if h.undone == nil {
			h.undone = map[int]bool{}
		}
		for _, l := range lifted {
			h.undone[l.n] = true
			h.Extensions = append(h.Extensions, fmt.Sprintf("%s%s (target %d; the others stay held)", targetReleasedEarlyBy, l.by, l.n))
		}
		for _, n := range undone {
			h.undone[n] = true
			h.UndoneTargets = append(h.UndoneTargets, h.params[n])
		}
		h.ReleasedAt = nil
		if out.Completed {
			h.Extensions[i] = fmt.Sprintf("not released: %s (%s) did not undo it (the step ended after the rollback was planned); held again, released at contain_for", rb.RollbackID, rb.By)
		} else {
			h.Extensions[i] = fmt.Sprintf("not released: %s (%s) failed (%s); %d target(s) held again, released at contain_for", rb.RollbackID, rb.By, why, left)
		}
		held = append(held, h.Step)
	}
	var msg string
	switch {
	case !out.Completed:
		rb.Failed = why
		if len(held) > 0 {
			rb.Failed += "; held again until contain_for: " + strings.Join(held, ", ")
		}
		msg = "failed: " + rb.Failed
	case len(held) > 0:
		// Succeeded, but not for these: the rollback is not marked failed
		// (a retry of it is answered with it; the run releases them).
		msg = "did not undo " + strings.Join(held, ", ") + " (ended after it was planned): held again until contain_for"
	default:
		return
	}
	workflow.SetCurrentDetails(ctx, r.details(r.currentStatus()))
	note(ctx, rollbackResultSummary(rb.By, msg))
}

// liftedByStep names a step of the run, ended no earlier than h's, that
// ran h's undo action successfully on target p ("" when none).
func (r *run) liftedByStep(h *Hold, p map[string]any) string {
	i := slices.IndexFunc(r.results, func(st StepResult) bool { return st.ID == h.Step })
	if i < 0 {
		return ""
	}
	return undoneLaterBy(r.results, i, h.Undo, p, currentUndoRules)
}

// ViaRollback marks a gate closed because the run was rolled back.
const ViaRollback = "rollback"

// changeRollbackStops: a run rolled back while containment is still to
// come (a contain step waiting at its gate, or not started) starts no
// further contain step: its pending contain gates close as withdrawn and
// those steps are skipped, as after a withdrawal. Before, an approval
// after the rollback contained again, with the run shown rolled back.
// Asked only when it changes something.
const changeRollbackStops = "rolled-back-stops-containment"

// stopOnRollback stops the run's containment still to come once a
// rollback undid what it had applied (see changeRollbackStops).
func (r *run) stopOnRollback(ctx workflow.Context, rb RolledBack, now time.Time) {
	if r.stepsDone || r.rollbackWhy != "" {
		return
	}
	isContain := func(cs *playbook.CStep) bool { return cs.Action != nil && cs.Action.Risk == catalog.RiskContain }
	var gates []*gateState
	for _, id := range r.gateOrder {
		g := r.gates[id]
		if cs, ok := r.pb.Step(g.StepID); ok && g.State == GatePending && isContain(cs) {
			gates = append(gates, g)
		}
	}
	left := len(gates) > 0
	for i, cs := range r.pb.Steps {
		// Not started, or a for_each step part-way through its items.
		st := r.results[i].Status
		left = left || (isContain(cs) && (st == playbook.StatusPending || (cs.ForEach != nil && st == playbook.StatusRunning)))
	}
	if !left || workflow.GetVersion(ctx, changeRollbackStops, workflow.DefaultVersion, 1) < 1 {
		return
	}
	r.rollbackWhy = fmt.Sprintf("run rolled back by %s (%s)", who(rb.By), rb.RollbackID)
	for _, g := range gates {
		r.closeGate(ctx, g, GateWithdrawn, &Decision{GateID: g.ID, User: "riposte", Via: ViaRollback, Reason: r.rollbackWhy, At: now})
	}
}

// rollbackStop is why a contain step or item does not start once the run
// was rolled back (stopOnRollback); "" before.
func (r *run) rollbackStop() string {
	if r.rollbackWhy == "" {
		return ""
	}
	return r.rollbackWhy + ": no further containment"
}

// currentStatus is the run's status for the details while it runs.
func (r *run) currentStatus() string {
	if !r.stepsDone {
		// Holds fall due while later steps still run or wait at a gate
		// (holds-while-running): the run is then running or waiting, as
		// its RunStatus says, not holding.
		if st := r.approvalState(); st == GatePending || st == GateEscalated {
			return RunWaiting
		}
		return RunRunning
	}
	for _, h := range r.holds {
		if h.ReleasedAt == nil {
			return RunHolding
		}
	}
	return RunRunning
}

// QueryHolds returns the run's time-boxed containments ([]Hold) with their
// release times.
const QueryHolds = "holds"

func (r *run) holdList() []Hold {
	out := make([]Hold, 0, len(r.holds))
	for _, h := range r.holds {
		out = append(out, h.view())
	}
	return out
}

// view is h as the holds query and the result show it: an inherited hold
// names the targets it still holds (Targets). No command depends on it.
func (h *Hold) view() Hold {
	v := *h
	if h.InheritedFrom != "" {
		v.Targets = h.left()
	}
	return v
}

// holdDetails adds the holds and their release times to the details.
func (r *run) holdDetails(b *strings.Builder) {
	if len(r.holds) == 0 {
		return
	}
	// A blank line before the list: the Temporal UI's renderer starts no
	// list inside a paragraph.
	b.WriteString("\nTime-boxed containment:\n\n")
	for _, h := range r.holds {
		switch {
		case h.ReleasedAt != nil && h.Error != "":
			b.WriteString(fmt.Sprintf("- `%s` release failed at %s: %s\n", h.Step, h.ReleasedAt.UTC().Format(time.RFC3339), mdtext.Text(h.Error, 300)))
		case h.ReleasedAt != nil:
			b.WriteString(fmt.Sprintf("- `%s` released at %s\n", h.Step, h.ReleasedAt.UTC().Format(time.RFC3339)))
		case slices.Contains(h.Extensions, h.notReleasedNote()):
			// The run was cancelled: nothing releases it at its time.
			b.WriteString(fmt.Sprintf("- `%s` (%s) %s\n", h.Step, h.Undo, h.notReleasedNote()))
		default:
			b.WriteString(fmt.Sprintf("- `%s` releases at **%s** (%s), unless extended\n", h.Step, h.Until.UTC().Format(time.RFC3339), h.Undo))
		}
	}
}

// upsertHoldUntil sets HoldUntil to the earliest pending release.
func (r *run) upsertHoldUntil(ctx workflow.Context) {
	var next time.Time
	for _, h := range r.holds {
		if h.ReleasedAt == nil && (next.IsZero() || h.Until.Before(next)) {
			next = h.Until
		}
	}
	if next.Equal(r.holdUntil) {
		return
	}
	upd := SAHoldUntil.ValueSet(next)
	if next.IsZero() {
		upd = SAHoldUntil.ValueUnset()
	}
	r.holdUntil = next
	if err := workflow.UpsertTypedSearchAttributes(ctx, upd); err != nil {
		workflow.GetLogger(ctx).Warn("cannot update HoldUntil", "error", err)
	}
}

// undoneBy releases holds that a later step of the same run has already
// undone (same undo action, same target), so the timer does not undo a
// second time what a person may have redone since.
func (r *run) undoneBy(ctx workflow.Context, cs *playbook.CStep, params map[string]any) {
	for _, h := range r.holds {
		if h.ReleasedAt != nil || h.releasing || h.Undo != cs.Step.Action {
			continue
		}
		for n, p := range h.params {
			if h.undone[n] || !sameTargetIn(ctx, p, params) {
				continue
			}
			if h.pending() > 1 && workflow.GetVersion(ctx, changeHoldTargets, workflow.DefaultVersion, 1) >= 1 {
				// One target of a for_each hold: the others stay held
				// until contain_for elapses (before, none was released).
				if h.undone == nil {
					h.undone = map[int]bool{}
				}
				h.undone[n] = true
				h.Extensions = append(h.Extensions, fmt.Sprintf("%s%s (target %d; the others stay held)", targetReleasedEarlyBy, cs.ID, n))
				break
			}
			now := workflow.Now(ctx)
			h.ReleasedAt = &now
			h.Extensions = append(h.Extensions, releasedEarlyBy+cs.ID)
			break
		}
	}
}

// undoesHeld reports whether a call of cs with params may undo a pending
// hold's target (by either key set: undoneBy decides which applies).
func (r *run) undoesHeld(cs *playbook.CStep, params map[string]any) bool {
	for _, h := range r.holds {
		if h.ReleasedAt != nil || h.releasing || h.Undo != cs.Step.Action {
			continue
		}
		for n, p := range h.params {
			if !h.undone[n] && (sameTargetBy(targetKeys, p, params) || sameTargetBy(legacyTargetKeys, p, params)) {
				return true
			}
		}
	}
	return false
}

// changeHoldTargets: a later step that undoes one target of a for_each
// hold releases that target only.
const changeHoldTargets = "hold-targets-released-early"

// targetReleasedEarlyBy starts the note of one target of a hold a later
// step undid while the hold's other targets stay held.
const targetReleasedEarlyBy = "one target released early by step "

// pending counts the targets of h no later step has undone.
func (h *Hold) pending() int { return len(h.left()) }

// left lists the targets of h not undone since (h.undone: by a later step,
// or by a failed rollback, which also lists them in UndoneTargets).
func (h *Hold) left() []map[string]any {
	var out []map[string]any
	for i, p := range h.params {
		if !h.undone[i] {
			out = append(out, p)
		}
	}
	return out
}

// releasedByRollback starts the note of a hold the rolled_back mark
// released: the API sends the mark when it starts the rollback, before any
// undo ran.
const releasedByRollback = "released by rollback "

// HoldsForRollback is holds as a rollback plans with them: a hold released
// only by a rollback's mark is still in place as far as a new rollback
// knows, since the mark says the rollback started, not that its undo
// succeeded. A retry after a failed rollback must undo it again; one after
// a rollback that succeeded is answered with that rollback (the API starts
// rollbacks under one workflow id per run, reusable only after a failure).
func HoldsForRollback(holds []Hold) []Hold {
	out := make([]Hold, len(holds))
	for i, h := range holds {
		out[i] = h
		for _, e := range h.Extensions {
			if strings.HasPrefix(e, releasedByRollback) {
				out[i].ReleasedAt = nil
			}
		}
	}
	return out
}

// noteCancelledHolds notes the holds a cancelled run leaves in place: its
// timers and activities cannot run (waiting on would spin), and riposte
// rollback undoes them — an inherited one too, once the run has ended
// (internal/api: while the run runs, a rollback leaves it to its
// release). State only: no command depends on it.
func (r *run) noteCancelledHolds() {
	for _, h := range r.holds {
		n := h.notReleasedNote()
		if h.ReleasedAt == nil && !slices.Contains(h.Extensions, n) {
			h.Extensions = append(h.Extensions, n)
		}
	}
}

// notReleasedCancelled is the note of a hold the run was cancelled before
// releasing.
const notReleasedCancelled = "not released: the run was cancelled; containment stays in place (riposte rollback undoes it)"

// notReleasedNote is the note of h when the run is cancelled before
// releasing it: an inherited hold names the run it was inherited from,
// and says that a rollback of this run, which has ended, undoes it.
func (h *Hold) notReleasedNote() string {
	if h.InheritedFrom == "" {
		return notReleasedCancelled
	}
	return fmt.Sprintf("not released: the run was cancelled; containment inherited from run %s stays in place (riposte rollback undoes it, as it does the run's own, now that the run has ended)", h.InheritedFrom)
}

// releasedEarlyBy starts the extension note of a hold that a later step
// undid (undoneBy): only the target that step undid was released.
const releasedEarlyBy = "released early by step "

// targetKeys are the params that name what a contain or undo action acts
// on (free-text fields such as a comment are left out). Every required
// param of a contain action must be one (TestTargetKeysCoverCatalog).
var targetKeys = []string{"hostname", "user", "ip", "connection", "tag", "instance_id", "access_key_id", "role_name"}

// legacyTargetKeys are the keys runs compared before the AWS actions'
// targets counted (changeTargetKeys): two calls on different instances,
// keys or roles compared equal.
var legacyTargetKeys = targetKeys[:5]

// TargetKeys lists the params that name what a contain or undo action acts
// on (a copy): what the CLI shows first of a step's params.
func TargetKeys() []string { return slices.Clone(targetKeys) }

// changeTargetKeys: calls are the same target only when every target key
// matches (instance_id, access_key_id and role_name too).
const changeTargetKeys = "target-keys"

// sameTargetBy compares two calls' params by keys.
func sameTargetBy(keys []string, a, b map[string]any) bool {
	for _, k := range keys {
		if fmt.Sprint(a[k]) != fmt.Sprint(b[k]) {
			return false
		}
	}
	return true
}

// sameTargetIn compares as run ctx does: by every target key, or — for a
// run recorded before changeTargetKeys where the two differ — as it ran.
func sameTargetIn(ctx workflow.Context, a, b map[string]any) bool {
	now, before := sameTargetBy(targetKeys, a, b), sameTargetBy(legacyTargetKeys, a, b)
	if now == before {
		return now
	}
	if workflow.GetVersion(ctx, changeTargetKeys, workflow.DefaultVersion, 1) >= 1 {
		return now
	}
	return before
}

func (r *run) registerHoldHandlers(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateExtend,
		func(ctx workflow.Context, req ExtendRequest) (Hold, error) {
			h := r.hold(req.Step)
			r.useSeal(req.Seal)
			h.Until = h.Until.Add(req.By.D())
			// State only: the record names the credential when the seal
			// covered one.
			h.Extensions = append(h.Extensions, fmt.Sprintf("%s by %s%s at %s", req.By, req.User, credentialNote(req.Credential), workflow.Now(ctx).UTC().Format(time.RFC3339)))
			if r.outcomes {
				workflow.SetCurrentDetails(ctx, r.details(r.currentStatus()))
			}
			note(ctx, extendSummary(h.Step, req.By, req.User, h.Until))
			return *h, nil
		},
		// Validators do not run on replay: a refusal is audited once.
		workflow.UpdateHandlerOptions{Validator: func(req ExtendRequest) error {
			err := r.validateExtend(req, workflow.Now(ctx))
			if err != nil {
				workflow.GetLogger(ctx).Warn("audit: extend update refused", "step", req.Step, "user", req.User, "refusal", err.Error())
			}
			return err
		}})
}

// validateExtend refuses an extension before anything changes: one not
// sealed by Riposte, or whose seal is stale at now or was already used.
func (r *run) validateExtend(req ExtendRequest, now time.Time) error {
	if err := r.in.Keys.Verify(ExtendClaim(r.info.WorkflowExecution.ID, req), req.Seal); err != nil {
		return err
	}
	if err := r.in.Keys.Retired(req.Seal, now); err != nil {
		return err
	}
	if err := r.sealForThisRun(req.RunID); err != nil {
		return err
	}
	if err := r.checkSealOnce(req.Seal, now, fmt.Sprintf("this extension of %s by %s", req.Step, req.By)); err != nil {
		return err
	}
	h := r.hold(req.Step)
	switch {
	case h == nil:
		return fmt.Errorf("step %s holds no time-boxed containment (contain_for) in this run", req.Step)
	case h.ReleasedAt != nil:
		return fmt.Errorf("the containment of step %s was already released", req.Step)
	case h.releasing:
		return fmt.Errorf("the containment of step %s is being released; contain it again if it is still needed", req.Step)
	case req.By <= 0:
		return fmt.Errorf("extension must be a positive duration")
	case req.By > playbook.MaxContainFor:
		// The API refuses it first; an API of an earlier release did not.
		// A refused Update is not in the history: replay is unchanged.
		return fmt.Errorf("an extension by %s is longer than %s, the longest extension: extend again before it falls due if the containment is still needed", req.By, playbook.MaxContainFor)
	case req.User == "":
		return fmt.Errorf("an extension needs the user who asks for it")
	}
	return nil
}

func (r *run) hold(step string) *Hold {
	for _, h := range r.holds {
		if h.Step == step {
			return h
		}
	}
	return nil
}

// releaseHolds waits for every hold's timer (extensions move it) and runs
// the undo action with the step's params.
func (r *run) releaseHolds(ctx workflow.Context) {
	if len(r.holds) == 0 {
		return
	}
	if r.outcomes {
		// Holds that are already due (dry runs) release without the run
		// ever showing "holding".
		due := true
		for _, h := range r.holds {
			if h.ReleasedAt == nil && h.Until.After(workflow.Now(ctx)) {
				due = false
			}
		}
		if !due {
			r.setRunStatusHolding(ctx)
			// The approval messages of the held steps show the release time.
			for _, h := range r.holds {
				if h.ReleasedAt == nil {
					r.refreshGateMessages(ctx, RunHolding, h.Step)
				}
			}
		}
	} else {
		r.setRunStatus(ctx, RunHolding)
	}
	if r.watched {
		// watchHolds releases them (its timer already runs).
		_ = workflow.Await(ctx, func() bool { return !r.watchingHolds })
	} else {
		r.releaseDue(ctx)
	}
	if ctx.Err() != nil {
		r.noteCancelledHolds()
	}
}

// changeInheritedReleaseKey: the release calls of an inherited hold are
// keyed past the targets of the inherited holds of its step before it
// (inheritedOffset), not from 0 like theirs.
const changeInheritedReleaseKey = "inherited-release-key"

// inheritedOffset is how many targets the inherited holds of h's step
// before h in the run's holds name (0 for a hold not inherited): a hold's
// targets shrink only before its release, so the keys of holds released
// at different times stay apart.
func (r *run) inheritedOffset(h *Hold) int {
	off := 0
	if h.InheritedFrom == "" {
		return 0
	}
	for _, o := range r.holds {
		if o == h {
			break
		}
		if o.InheritedFrom != "" && o.Step == h.Step {
			off += len(o.params)
		}
	}
	return off
}

func (r *run) release(ctx workflow.Context, h *Hold) {
	// No extension from here on: the undo calls below may take a while
	// (retries), and the release goes ahead whatever an extension says.
	h.releasing = true
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 10, InitialInterval: 5 * time.Second, MaximumInterval: 5 * time.Minute},
		Summary:             "release " + h.Step + " (contain_for elapsed)",
	})
	var errs []string
	h.FailedTargets = nil
	// Two inherited holds of one step (a run two reopenings down holds the
	// hold of the run it continues and the one that run inherited, both
	// as inherited:STEP) number their targets from 0 both: their release
	// calls are keyed past the targets of the holds before it, so that
	// each has its own idempotency key. Asked only when it changes a key.
	off := 0
	if off = r.inheritedOffset(h); off > 0 && workflow.GetVersion(ctx, changeInheritedReleaseKey, workflow.DefaultVersion, 1) < 1 {
		off = 0
	}
	for n, p := range h.params {
		if h.undone[n] {
			continue
		}
		call := catalog.Call{
			Action: h.Undo, Params: p, WorkflowID: r.info.WorkflowExecution.ID, RunID: r.info.WorkflowExecution.RunID,
			StepID: h.Step + ".release", Index: n, IdempotencyKey: fmt.Sprintf("%s/%s/release/%d", r.info.WorkflowExecution.ID, h.Step, off+n),
			DryRun: r.input.Simulated(),
		}
		if err := workflow.ExecuteActivity(actx, h.Undo, call).Get(ctx, nil); err != nil {
			errs = append(errs, errorMessage(err))
			h.FailedTargets = append(h.FailedTargets, p)
		}
	}
	now := workflow.Now(ctx)
	h.ReleasedAt = &now
	if len(errs) > 0 {
		h.Error = fmt.Sprint(errs)
	}
	if r.outcomes {
		status := RunHolding
		if !r.stepsDone {
			status = RunRunning // released by watchHolds while steps still run
		}
		workflow.SetCurrentDetails(ctx, r.details(status))
	}
}

// setRunStatusHolding records RunStatus=holding with the first HoldUntil
// in one upsert.
func (r *run) setRunStatusHolding(ctx workflow.Context) {
	var next time.Time
	for _, h := range r.holds {
		if h.ReleasedAt == nil && (next.IsZero() || h.Until.Before(next)) {
			next = h.Until
		}
	}
	workflow.SetCurrentDetails(ctx, r.details(RunHolding))
	attrs := []temporal.SearchAttributeUpdate{SARunStatus.ValueSet(RunHolding)}
	if !next.IsZero() && next.After(workflow.Now(ctx)) {
		attrs = append(attrs, SAHoldUntil.ValueSet(next))
		r.holdUntil = next
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, attrs...); err != nil {
		workflow.GetLogger(ctx).Warn("cannot update RunStatus", "error", err)
	}
}

// credentialNote is " (credential)" for a record of a request whose seal
// covered the credential that authenticated its sender, "" otherwise.
func credentialNote(credential string) string {
	if credential == "" {
		return ""
	}
	return " (" + credential + ")"
}
