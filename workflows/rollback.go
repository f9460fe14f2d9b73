package workflows

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
)

// RollbackWorkflow undoes a run's containment: the undo action of every
// succeeded contain step, in reverse order of completion.
const RollbackWorkflow = "riposte.rollback"

// ErrRollbackFailed is the error type of a rollback with failed undos; its
// details hold the []UndoResult.
const ErrRollbackFailed = "RollbackFailed"

// RollbackInput lists what to undo, newest first. The client builds it from
// the run's result and the catalog.
type RollbackInput struct {
	WorkflowID string     `json:"workflow_id"`
	RunID      string     `json:"run_id"`
	Requester  string     `json:"requester"`
	Undo       []UndoCall `json:"undo"`
	// DryRun simulates every undo call (catalog.Call.DryRun): the run
	// rolled back was simulated (dry run, shadow), so nothing real was
	// contained and nothing real may be lifted. The API refuses such a
	// rollback outright; this is the workflow's own safeguard. The seal
	// covers it (RollbackClaim).
	DryRun bool `json:"dry_run,omitempty"`
	// Credential: what authenticated Requester, covered by the seal (see
	// ExtendRequest.Credential).
	Credential string `json:"credential,omitempty"`
	// MarkFirst: the rollback begins only once its run has taken its
	// rolled_back mark (ActivityRollbackMarked), and is refused, undoing
	// nothing, when that run did not take it (the process that started
	// the rollback died before the mark, or it was lost) and still runs or
	// continued as a new run: a withdrawn run continues as a new run when
	// its finding is reopened, handing over what it holds, and a rollback
	// its run does not know of would lift what the new run shows held.
	// Set by the API for a withdrawn run that still runs (the rollback
	// waits a start delay for the mark). Not covered by the seal: it can
	// only refuse a rollback. Workers of earlier releases ignore it.
	MarkFirst bool `json:"mark_first,omitempty"`
	// Via and Seal: set by the signer (see Decision.Seal).
	Via  string        `json:"via,omitempty"`
	Seal *signing.Seal `json:"seal,omitempty"`
}

// ActivityRollbackMarked tells whether the run a rollback undoes took its
// rolled_back mark (input RollbackMarkedInput, result RollbackMarked):
// read from Temporal (the run's status and its RolledBackAt search
// attribute), whoever asks.
const ActivityRollbackMarked = "riposte.rollback.marked"

// RollbackMarkedInput names the run a rollback undoes and when the
// rollback started: a mark taken since is its own.
type RollbackMarkedInput struct {
	WorkflowID string    `json:"workflow_id"`
	RunID      string    `json:"run_id"`
	Since      time.Time `json:"since"`
}

// RollbackMarked is the answer of ActivityRollbackMarked: Refusal says
// why the rollback must not begin ("" when it may).
type RollbackMarked struct {
	Refusal string `json:"refusal,omitempty"`
}

// UndoCall is one undo to run.
type UndoCall struct {
	Step   string         `json:"step"`
	Action string         `json:"action"`
	Undo   string         `json:"undo"`
	Index  int            `json:"index"`
	Params map[string]any `json:"params"`
}

// UndoResult is what happened to one undo.
type UndoResult struct {
	UndoCall
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Output is the undo call's output; Already says its connector found
	// nothing to undo (catalog.OutputAlready: released by someone else,
	// never applied there): the vendor did not act for it.
	Output  map[string]any `json:"output,omitempty"`
	Already bool           `json:"already,omitempty"`
}

// StepID is the step id an undo call's activity carries
// (catalog.Call.StepID): the undone step's, then ".rollback".
func (u UndoCall) StepID() string { return u.Step + ".rollback" }

// Same reports whether u and o undo the same call: the same step, item
// and undo action.
func (u UndoCall) Same(o UndoCall) bool {
	return u.Step == o.Step && u.Index == o.Index && u.Undo == o.Undo
}

// changeRollbackMarkFirst: a rollback started with MarkFirst begins only
// once its run took its rolled_back mark (ActivityRollbackMarked).
const changeRollbackMarkFirst = "rollback-mark-first"

// changeRollbackFresh: a rollback whose seal is stale at its start is
// refused.
const changeRollbackFresh = "sec-rollback-fresh"

// Rollback runs the undo calls one by one; a failed undo does not stop the
// others, and the workflow fails at the end if any failed.
func Rollback(ctx workflow.Context, in RollbackInput, keys *signing.Keys) ([]UndoResult, error) {
	// A rollback started straight through Temporal (no seal) is refused
	// before anything is undone; histories from before seals replay as
	// they ran.
	if workflow.GetVersion(ctx, ChangeSignedDecisions, workflow.DefaultVersion, 1) >= 1 {
		claim := RollbackClaim(in)
		if workflow.GetVersion(ctx, changeRollbackUndoSealed, workflow.DefaultVersion, 1) >= 1 {
			claim = RollbackUndoClaim(in) // the undo calls cannot be swapped
		}
		if err := keys.Verify(claim, in.Seal); err != nil {
			// The logger is replay-aware: audited once.
			workflow.GetLogger(ctx).Warn("audit: rollback workflow refused", "run", in.WorkflowID, "requester", in.Requester, "via", in.Via, "refusal", err.Error())
			return nil, temporal.NewNonRetryableApplicationError("rollback refused: "+err.Error(), "RollbackRefused", nil)
		}
		// A sealed rollback read back from a history and started again
		// (under another workflow id) would lift containment a person may
		// have put back: the seal must be fresh when the rollback starts.
		// Recorded only when it is not (histories before it replay).
		if err := signing.Fresh(in.Seal, workflow.GetInfo(ctx).WorkflowStartTime); err != nil &&
			workflow.GetVersion(ctx, changeRollbackFresh, workflow.DefaultVersion, 1) >= 1 {
			workflow.GetLogger(ctx).Warn("audit: rollback workflow refused", "run", in.WorkflowID, "requester", in.Requester, "via", in.Via, "refusal", err.Error())
			return nil, temporal.NewNonRetryableApplicationError("rollback refused: "+err.Error(), "RollbackRefused", nil)
		}
		// Sealed with a key retired before the rollback started.
		if err := retiredKey(ctx, keys, in.Seal, workflow.GetInfo(ctx).WorkflowStartTime); err != nil {
			workflow.GetLogger(ctx).Warn("audit: rollback workflow refused", "run", in.WorkflowID, "requester", in.Requester, "via", in.Via, "refusal", err.Error())
			return nil, temporal.NewNonRetryableApplicationError("rollback refused: "+err.Error(), "RollbackRefused", nil)
		}
	}
	// A rollback whose run must have taken its mark first (MarkFirst:
	// a withdrawn run, which may continue as a new run handing over what
	// it holds) checks it once its start delay has run out. Asked only
	// when set: earlier histories have none and replay unchanged.
	if in.MarkFirst && workflow.GetVersion(ctx, changeRollbackMarkFirst, workflow.DefaultVersion, 1) >= 1 {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: 2 * time.Second},
			Summary:             "check that the run took this rollback's mark",
		})
		var m RollbackMarked
		err := workflow.ExecuteActivity(actx, ActivityRollbackMarked, RollbackMarkedInput{WorkflowID: in.WorkflowID, RunID: in.RunID,
			Since: workflow.GetInfo(ctx).WorkflowStartTime}).Get(ctx, &m)
		if err != nil {
			m.Refusal = "whether run " + in.RunID + " took this rollback's mark cannot be read: " + errorMessage(err)
		}
		if m.Refusal != "" {
			workflow.GetLogger(ctx).Warn("audit: rollback workflow refused", "run", in.WorkflowID, "run_id", in.RunID, "requester", in.Requester, "via", in.Via, "refusal", m.Refusal)
			return nil, temporal.NewNonRetryableApplicationError("rollback refused, nothing undone: "+m.Refusal+"; ask again", "RollbackRefused", nil)
		}
	}
	var out []UndoResult
	failed := 0
	for _, u := range in.Undo {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 2 * time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: 2 * time.Second},
			Summary:             fmt.Sprintf("undo %s (%s)", u.Step, u.Undo),
		})
		call := catalog.Call{
			Action: u.Undo, Params: u.Params, WorkflowID: in.WorkflowID, RunID: in.RunID, StepID: u.StepID(),
			Index: u.Index, IdempotencyKey: fmt.Sprintf("rollback:%s/%s/%d", in.WorkflowID, u.Step, u.Index),
			DryRun: in.DryRun,
		}
		res := UndoResult{UndoCall: u, Status: playbook.StatusSucceeded}
		// The output only reaches the result (no command depends on it),
		// so histories recorded before it was kept replay unchanged.
		var o map[string]any
		if err := workflow.ExecuteActivity(actx, u.Undo, call).Get(ctx, &o); err != nil {
			res.Status, res.Error = playbook.StatusFailed, errorMessage(err)
			failed++
		} else {
			res.Output = o
			res.Already, _ = o[catalog.OutputAlready].(bool)
		}
		out = append(out, res)
	}
	if failed > 0 {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%d of %d undo actions failed", failed, len(out)), ErrRollbackFailed, nil, out)
	}
	return out, nil
}

// UndoCalls lists the undo calls for a run's steps, newest first: the undo
// of every contain call that succeeded (a step, or each succeeded item of a
// for_each step, whatever the other items did) and is still in place. The
// run's holds say what is not: a hold released without error (its
// contain_for timer, a rollback, a withdrawal) was undone already, and a
// hold a later step released early lost the target that step undid.
func UndoCalls(steps []StepResult, holds []Hold, cat *catalog.Catalog) []UndoCall {
	return undoCalls(steps, holds, cat, currentUndoRules)
}

// InheritedUndoCallsOf lists the undo calls of the holds a run inherited
// from the withdrawn run it continues (Hold.InheritedFrom) and did not
// release: not released (the run ended first: cancelled, terminated,
// timed out), or whose release failed. The API passes every such hold
// of a run that has ended without continuing, and of a run that runs
// those whose release failed (the run releases each hold once): while it
// runs, its rollback leaves the others to their release, and a run that
// continued handed them over. One call per
// target the hold still holds (Hold.Targets; Index numbers the calls of
// one step, across its holds), in
// the order of the holds, after the run's own calls (the containment is
// older). Action is the contain action of the catalog with that undo, ""
// when none or several. A hold that names no targets (recorded before
// holds named them) cannot be planned and is left out.
//
// A hold whose release failed for some of its targets only (FailedTargets)
// is planned for those: the others were released, and what is in place
// there now is someone else's. A hold recorded before FailedTargets
// existed is planned whole.
//
// A hold whose release failed is no longer watched by the run: a later
// step of the run (steps) that undid one of its targets, or took it over
// (a contain call with the same undo that did not find it someone
// else's), does not drop it from the hold as it would from a hold not yet
// released (undoneBy, tookOver). Such a target is left out here as it
// would have been there: the step undid it (what is in place now is
// someone else's, an analyst's), or its own call is undone, or was
// released, by the run (planning it again would undo it twice, or lift
// what was put back since).
//
// Only the holds plan accepts are planned (all when nil); the calls are
// numbered across every inherited hold of holds all the same: a hold
// planned now keeps the indexes it had when it was planned alone (the
// API plans, while the run runs, only the holds whose release failed,
// and every one once it has ended), so a failed rollback's results and
// the undo's idempotency key still name its calls.
func InheritedUndoCallsOf(steps []StepResult, holds []Hold, plan func(Hold) bool, cat *catalog.Catalog) []UndoCall {
	var out []UndoCall
	// Index numbers the calls of one step: a run two reopenings down
	// holds as inherited:STEP both the hold of the run it continues and
	// the one that run inherited in turn (the prefix is not doubled), and
	// calls of one step and index are one call (UndoCall.Same, the undo's
	// idempotency key, a failed rollback's results).
	n := map[string]int{}
	for _, h := range holds {
		if h.InheritedFrom == "" || h.Undo == "" {
			continue
		}
		skip := (h.ReleasedAt != nil && h.Error == "") || (plan != nil && !plan(h))
		for _, p := range h.Targets {
			i := n[h.Step] // counted for a target left out too: a retry's calls keep their index
			n[h.Step]++
			if skip {
				continue // released, or not planned now: counted all the same
			}
			if h.ReleasedAt != nil && len(h.FailedTargets) > 0 && !slices.ContainsFunc(h.FailedTargets, func(f map[string]any) bool { return sameTargetBy(targetKeys, p, f) }) {
				continue // released: its undo succeeded
			}
			if h.ReleasedAt != nil && actedOnSince(steps, h.Undo, p, *h.ReleasedAt, cat) {
				continue
			}
			out = append(out, UndoCall{Step: h.Step, Action: containOf(cat, h.Undo), Undo: h.Undo, Index: i, Params: p})
		}
	}
	return out
}

// actedOnSince reports whether a step of steps that ended after t acted on
// target p of a hold with undo action undo: a succeeded call of undo on it
// (undoneBy), or a succeeded contain call whose undo is undo that did not
// find its containment someone else's (tookOver).
func actedOnSince(steps []StepResult, undo string, p map[string]any, t time.Time, cat *catalog.Catalog) bool {
	for _, st := range steps {
		if st.EndedAt == nil || !st.EndedAt.After(t) {
			continue
		}
		if st.Action == undo && slices.ContainsFunc(succeededParams(st), func(q map[string]any) bool { return sameTargetBy(targetKeys, p, q) }) {
			return true
		}
		if u, ok := containStep(st, cat); !ok || u != undo {
			continue
		}
		for _, c := range succeededCalls(st) {
			if !preexistingOutput(c.output) && sameTargetBy(targetKeys, p, c.params) {
				return true
			}
		}
	}
	return false
}

// containOf is the one contain action of cat whose undo is undo ("" when
// none or several).
func containOf(cat *catalog.Catalog, undo string) string {
	if cat == nil {
		return ""
	}
	found := ""
	for _, a := range cat.Actions() {
		if a.Risk == catalog.RiskContain && a.Undo == undo {
			if found != "" {
				return ""
			}
			found = a.Name
		}
	}
	return found
}

// undoRules say which containment a run counts as applied, for its
// rollback and its withdrawal review. Each rule changes what workflow code
// undoes, so runs take it under its own GetVersion change id (run.undoRules);
// the zero value is how runs recorded before any rule decide.
type undoRules struct {
	// partialItems: the succeeded items of a for_each contain step count
	// even when other items failed (the step's status is not succeeded).
	partialItems bool
	// releasedHolds: a call whose hold was already released (undone) is
	// not undone again.
	releasedHolds bool
	// undoneInRun: a contain call that a later step of the run undid (its
	// undo action on the same target) and that undo cancel out: neither
	// is undone, neither is reviewed.
	undoneInRun bool
	// preexisting: a contain call that found its containment already in
	// place (catalog.OutputPreexisting) is neither undone nor reviewed:
	// someone else applied it.
	preexisting bool
	// releasingHolds: a hold whose release has begun (its undo calls are
	// running) counts as released, so a withdrawal's rollback does not
	// undo it a second time meanwhile.
	releasingHolds bool
	// allTargetKeys: calls are on the same target only when all of
	// targetKeys match (before: legacyTargetKeys, so AWS calls on
	// different instances, keys or roles cancelled out).
	allTargetKeys bool
	// partlyApplied: a contain call that failed after acting on some of
	// its targets (its error says catalog.PartiallyApplied: a block in
	// force on some firewalls of a Panorama target list) counts as
	// applied, so a rollback undoes it and a withdrawal lists it (before,
	// only succeeded calls did, and nothing could lift such a block).
	partlyApplied bool
	// uncertain: a contain call whose result is unknown (UncertainCall:
	// it timed out in its action, failed saying catalog.MayHaveReached,
	// or was cancelled in flight) is listed in a withdrawal's review, as
	// it may be in place. A rollback does not undo it: no answer says
	// whether the run applied it or someone else had.
	uncertain bool
}

// changeReviewUncertain gates undoRules.uncertain.
const changeReviewUncertain = "review-uncertain-containment"

// UncertainCall reports whether a contain call with this status, error and
// gate (nil for an item) may have acted though no answer said so
// (UncertainReason).
func UncertainCall(status, err string, gate *Gate) bool {
	return UncertainReason(status, err, gate) != ""
}

// UncertainReason says why a contain call may have acted though no answer
// said so: it timed out in its action (not at its gate), failed after its
// request may have reached the vendor, or was cancelled in flight; "" for
// a call whose result is known.
func UncertainReason(status, err string, gate *Gate) string {
	switch {
	case status == playbook.StatusTimedOut && (gate == nil || gate.State != GateTimedOut):
		return "timed out"
	case status == playbook.StatusFailed && strings.Contains(err, catalog.MayHaveReached):
		return "failed after its request " + catalog.MayHaveReached
	case status == playbook.StatusFailed && strings.HasPrefix(err, cancelledPrefix):
		return "was cancelled while it ran"
	}
	return ""
}

// StepUncertain reports whether step st (or one of its items) made a
// contain call whose result is unknown (UncertainCall).
func StepUncertain(st StepResult) bool {
	if len(st.Items) == 0 {
		return UncertainCall(st.Status, st.Error, st.Gate)
	}
	for _, it := range st.Items {
		if UncertainCall(it.Status, it.Error, nil) {
			return true
		}
	}
	return false
}

// changeUndoPartlyApplied gates undoRules.partlyApplied.
const changeUndoPartlyApplied = "rollback-partly-applied"

// partlyAppliedCall reports whether a call with this status and error
// failed after acting on some of its targets.
func partlyAppliedCall(status, err string) bool {
	return status == playbook.StatusFailed && strings.Contains(err, catalog.PartiallyApplied)
}

// callApplied reports whether a call (a step's, or an item's) applied
// containment under rules.
func (u undoRules) callApplied(status, err string) bool {
	return status == playbook.StatusSucceeded || (u.partlyApplied && partlyAppliedCall(status, err))
}

// same reports whether two calls' params name the same target under u.
func (u undoRules) same(a, b map[string]any) bool {
	if u.allTargetKeys {
		return sameTargetBy(targetKeys, a, b)
	}
	return sameTargetBy(legacyTargetKeys, a, b)
}

// changeUndoPreexisting gates undoRules.preexisting.
const changeUndoPreexisting = "rollback-preexisting"

// preexistingOutput reports whether a call's output says its containment
// was in place before the step (catalog.OutputPreexisting).
func preexistingOutput(out any) bool {
	m, _ := out.(map[string]any)
	b, _ := m[catalog.OutputPreexisting].(bool)
	return b
}

// currentUndoRules are the rules of new runs, the API and the CLI.
var currentUndoRules = undoRules{partialItems: true, releasedHolds: true, undoneInRun: true, preexisting: true, allTargetKeys: true, releasingHolds: true, partlyApplied: true, uncertain: true}

// changeUndoReleasedHolds is the GetVersion change id of
// undoRules.releasedHolds.
const changeUndoReleasedHolds = "rollback-released-holds"

// changeUndoUndoneInRun is the GetVersion change id of
// undoRules.undoneInRun.
const changeUndoUndoneInRun = "rollback-undone-in-run"

// changeUndoPartialItems is the GetVersion change id of
// undoRules.partialItems.
const changeUndoPartialItems = "rollback-partial-items"

// containStep reports whether st ran a contain action with an undo, and
// the undo; the step's calls then count where appliedCall says so.
func containStep(st StepResult, cat *catalog.Catalog) (string, bool) {
	a, ok := cat.Lookup(st.Action)
	if !ok || a.Risk != catalog.RiskContain {
		return "", false
	}
	return a.Undo, true
}

// stepApplied reports whether step st applied any containment under rules:
// it succeeded, or (partialItems) one of its items did.
func stepApplied(st StepResult, rules undoRules) bool {
	if st.Status == playbook.StatusSucceeded || (len(st.Items) == 0 && rules.callApplied(st.Status, st.Error)) {
		return true
	}
	if !rules.partialItems {
		return false
	}
	for _, it := range st.Items {
		if rules.callApplied(it.Status, it.Error) {
			return true
		}
	}
	return false
}

func undoCalls(steps []StepResult, holds []Hold, cat *catalog.Catalog, rules undoRules) []UndoCall {
	type done struct {
		at   time.Time
		call UndoCall
	}
	var calls []done
	var pairs []undonePair
	if rules.undoneInRun {
		pairs = undonePairs(steps, cat, rules)
	}
	for i, st := range steps {
		undo, ok := containStep(st, cat)
		if !ok || undo == "" || !stepApplied(st, rules) || st.EndedAt == nil {
			continue
		}
		released := func(map[string]any) bool { return false }
		if rules.releasedHolds {
			released = releasedBy(steps, i, undo, holds, rules)
		}
		if len(st.Items) > 0 {
			for _, it := range st.Items {
				if rules.preexisting && preexistingOutput(it.Output) {
					continue
				}
				if p, ok := it.Params.(map[string]any); ok && rules.callApplied(it.Status, it.Error) && !released(p) && pairedWith(pairs, i, it.Index) < 0 {
					calls = append(calls, done{*st.EndedAt, UndoCall{Step: st.ID, Action: st.Action, Undo: undo, Index: it.Index, Params: p}})
				}
			}
			continue
		}
		if rules.preexisting && preexistingOutput(st.Output) {
			continue
		}
		if p, ok := st.Params.(map[string]any); ok && !released(p) && pairedWith(pairs, i, -1) < 0 {
			calls = append(calls, done{*st.EndedAt, UndoCall{Step: st.ID, Action: st.Action, Undo: undo, Index: -1, Params: p}})
		}
	}
	// Newest first; stable for equal times (later steps first).
	for i := 0; i < len(calls); i++ {
		for j := i + 1; j < len(calls); j++ {
			if !calls[j].at.Before(calls[i].at) {
				calls[i], calls[j] = calls[j], calls[i]
			}
		}
	}
	out := make([]UndoCall, len(calls))
	for i, c := range calls {
		out[i] = c.call
	}
	return out
}

// releasedBy returns what of step steps[i]'s containment (undo action undo)
// its hold says was released already: everything, when the hold was
// released without error (contain_for timer, rollback, withdrawal); the
// targets a later step undid, when a later step released it early
// (undoneBy); nothing otherwise.
func releasedBy(steps []StepResult, i int, undo string, holds []Hold, rules undoRules) func(map[string]any) bool {
	for _, h := range holds {
		if h.Step == steps[i].ID && h.ReleasedAt == nil && h.releasing && rules.releasingHolds {
			return func(map[string]any) bool { return true } // its undo is running
		}
		if h.Step == steps[i].ID && len(h.UndoneTargets) > 0 && (h.ReleasedAt == nil || h.Error != "") {
			// Held again after a failed rollback, which undid these: still
			// held, or its release at contain_for failed (for the others;
			// the release skipped these).
			return func(p map[string]any) bool {
				return slices.ContainsFunc(h.UndoneTargets, func(u map[string]any) bool { return sameTargetBy(targetKeys, p, u) })
			}
		}
		if h.Step != steps[i].ID || h.ReleasedAt == nil || h.Error != "" {
			continue
		}
		for _, e := range h.Extensions {
			if strings.HasPrefix(e, releasedEarlyBy) {
				return func(p map[string]any) bool { return undoneLater(steps, i, undo, p, rules) }
			}
		}
		return func(map[string]any) bool { return true }
	}
	return func(map[string]any) bool { return false }
}

// undoneLater reports whether another step that ended no earlier than
// steps[i] (declared anywhere: needs may name a step declared below) ran
// undo successfully on the target of params (undoRules.same).
func undoneLater(steps []StepResult, i int, undo string, params map[string]any, rules undoRules) bool {
	return undoneLaterBy(steps, i, undo, params, rules) != ""
}

// undoneLaterBy is the id of the step undoneLater finds ("" when none).
func undoneLaterBy(steps []StepResult, i int, undo string, params map[string]any, rules undoRules) string {
	for j, later := range steps {
		if j == i || later.Action != undo || later.EndedAt == nil || steps[i].EndedAt == nil || later.EndedAt.Before(*steps[i].EndedAt) {
			continue
		}
		for _, p := range succeededParams(later) {
			if rules.same(p, params) {
				return later.ID
			}
		}
	}
	return ""
}

// succeededParams lists the params of a step's succeeded calls: the step's
// own, or those of its succeeded items.
func succeededParams(st StepResult) []map[string]any {
	var out []map[string]any
	if len(st.Items) > 0 {
		for _, it := range st.Items {
			if p, ok := it.Params.(map[string]any); ok && it.Status == playbook.StatusSucceeded {
				out = append(out, p)
			}
		}
		return out
	}
	if p, ok := st.Params.(map[string]any); ok && st.Status == playbook.StatusSucceeded {
		out = append(out, p)
	}
	return out
}

// reviewSteps lists, in step order, the contain steps whose containment a
// withdrawal leaves in place for a human to review.
func reviewSteps(steps []StepResult, cat *catalog.Catalog, rules undoRules) []string {
	var pairs []undonePair
	if rules.undoneInRun {
		pairs = undonePairs(steps, cat, rules)
	}
	var out []string
	for i, st := range steps {
		if _, ok := containStep(st, cat); ok && stepApplied(st, rules) && !allPaired(pairs, steps, i) && !(rules.preexisting && Preexisting(st)) {
			out = append(out, st.ID)
		} else if ok && rules.uncertain && StepUncertain(st) {
			out = append(out, st.ID)
		}
	}
	return out
}

// Preexisting reports whether every succeeded call of step st found its
// containment already in place (catalog.OutputPreexisting); false for a
// step without any.
func Preexisting(st StepResult) bool {
	n := 0
	if len(st.Items) > 0 {
		for _, it := range st.Items {
			if it.Status == playbook.StatusSucceeded {
				if !preexistingOutput(it.Output) {
					return false
				}
				n++
			}
		}
		return n > 0
	}
	return st.Status == playbook.StatusSucceeded && preexistingOutput(st.Output)
}

// undonePair is a contain call (step index, item index or -1) and the
// later call that undid it.
type undonePair struct {
	step, index     int
	byStep, byIndex int
}

// succeededCall is one succeeded call of a step: its item index (-1 for a
// step without for_each) and params.
type succeededCall struct {
	index  int
	params map[string]any
	output any
}

// succeededCalls lists a step's succeeded calls.
func succeededCalls(st StepResult) []succeededCall {
	var out []succeededCall
	if len(st.Items) > 0 {
		for _, it := range st.Items {
			if p, ok := it.Params.(map[string]any); ok && it.Status == playbook.StatusSucceeded {
				out = append(out, succeededCall{it.Index, p, it.Output})
			}
		}
		return out
	}
	if p, ok := st.Params.(map[string]any); ok && st.Status == playbook.StatusSucceeded {
		out = append(out, succeededCall{-1, p, st.Output})
	}
	return out
}

// undonePairs matches each succeeded call of a contain step with the first
// later succeeded call of its undo action on the same target (undoRules.same,
// as undoneBy matches holds): a step that ended no earlier, wherever it is
// declared (needs may name a step declared below). Each call is in at most
// one pair, and the calls are matched in the order the steps ended, so a
// contain, undo, contain sequence leaves the last contain.
func undonePairs(steps []StepResult, cat *catalog.Catalog, rules undoRules) []undonePair {
	order := endOrder(steps)
	var pairs []undonePair
	for oi, i := range order {
		st := steps[i]
		undo, ok := containStep(st, cat)
		if !ok || undo == "" {
			continue
		}
		for _, c := range succeededCalls(st) {
			if pairedWith(pairs, i, c.index) >= 0 {
				continue // it undid an earlier call
			}
		later:
			for _, j := range order[oi+1:] {
				l := steps[j]
				if l.Action != undo {
					continue
				}
				for _, lc := range succeededCalls(l) {
					if pairedWith(pairs, j, lc.index) < 0 && rules.same(c.params, lc.params) {
						pairs = append(pairs, undonePair{step: i, index: c.index, byStep: j, byIndex: lc.index},
							undonePair{step: j, index: lc.index, byStep: i, byIndex: c.index})
						break later
					}
				}
			}
		}
	}
	return pairs
}

// endOrder lists the indexes of the steps that ended, by end time, then
// declaration.
func endOrder(steps []StepResult) []int {
	var out []int
	for i, st := range steps {
		if st.EndedAt != nil {
			out = append(out, i)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return steps[out[a]].EndedAt.Before(*steps[out[b]].EndedAt) })
	return out
}

// pairedWith returns the step index of the call paired with call (step,
// index), or -1.
func pairedWith(pairs []undonePair, step, index int) int {
	for _, p := range pairs {
		if p.step == step && p.index == index {
			return p.byStep
		}
	}
	return -1
}

// allPaired reports whether every succeeded call of steps[i] is paired
// (false for a step without any).
func allPaired(pairs []undonePair, steps []StepResult, i int) bool {
	calls := succeededCalls(steps[i])
	for _, c := range calls {
		if pairedWith(pairs, i, c.index) < 0 {
			return false
		}
	}
	return len(calls) > 0
}

// sameUndo reports whether two undo lists are the same calls in the same
// order.
func sameUndo(a, b []UndoCall) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Step != b[i].Step || a[i].Index != b[i].Index || a[i].Undo != b[i].Undo {
			return false
		}
	}
	return true
}

func sameIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// undoRules returns the rules this run decides its withdrawal review and
// rollback by, for its current steps. A rule that changes neither list
// records nothing; one that does is taken when the run has its change
// (workflow.GetVersion), so a history recorded before the rule replays as
// it ran, and a run takes each change once, when it first matters.
func (r *run) undoRules(ctx workflow.Context, steps []StepResult) undoRules {
	cat := r.in.Catalog
	holds := r.holdList()
	var rules undoRules
	for _, c := range []struct {
		change string
		take   func(*undoRules)
	}{
		{changeUndoPartialItems, func(u *undoRules) { u.partialItems = true }},
		{changeUndoReleasedHolds, func(u *undoRules) { u.releasedHolds = true }},
		{changeUndoUndoneInRun, func(u *undoRules) { u.undoneInRun = true }},
		{changeUndoPreexisting, func(u *undoRules) { u.preexisting = true }},
		{changeTargetKeys, func(u *undoRules) { u.allTargetKeys = true }},
		{changeHoldsWhileRunning, func(u *undoRules) { u.releasingHolds = true }},
		{changeUndoPartlyApplied, func(u *undoRules) { u.partlyApplied = true }},
		{changeReviewUncertain, func(u *undoRules) { u.uncertain = true }},
	} {
		next := rules
		c.take(&next)
		if sameUndo(undoCalls(steps, holds, cat, rules), undoCalls(steps, holds, cat, next)) && sameIDs(reviewSteps(steps, cat, rules), reviewSteps(steps, cat, next)) {
			continue
		}
		if workflow.GetVersion(ctx, c.change, workflow.DefaultVersion, 1) >= 1 {
			rules = next
		}
	}
	return rules
}
