package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
)

// Defaults for steps that do not say otherwise.
const (
	DefaultStepTimeout    = 5 * time.Minute
	DefaultMaxAttempts    = 3
	DefaultInitialBackoff = time.Second
	DefaultBackoff        = 2.0
	DefaultMaxInterval    = time.Minute
	DefaultConcurrency    = 4
	// ActionHeartbeatTimeout detects an action whose worker died.
	ActionHeartbeatTimeout = 20 * time.Second
)

// Interpreter runs playbooks. Register its Run method as PlaybookWorkflow.
type Interpreter struct {
	Catalog *catalog.Catalog
	// Keys verify the seals of human decisions (see internal/signing);
	// nil refuses every decision, extension, safe-mode switch and rollback.
	Keys *signing.Keys
	// Store finds the playbook versions runs refer to (Input.PlaybookRef);
	// nil fails every run started by reference.
	Store PlaybookStore
	// compiled caches the playbooks of inline runs (started before runs
	// referred to their playbook), bounded: compiling is deterministic, so
	// a run evicted and compiled again gets the same programs.
	compiled *pbstore.Cache[*playbook.Compiled]
}

// PlaybookStore finds a playbook version by digest (*pbstore.Store). It
// must return the same playbook for a digest every time: runs replay
// their playbook from it.
type PlaybookStore interface {
	Get(name string, version int, digest string) (*playbook.Compiled, error)
}

// ErrPlaybookUnavailable is the error type of a run whose playbook version
// the worker cannot find.
const ErrPlaybookUnavailable = "PlaybookUnavailable"

// NewInterpreter returns an interpreter for the catalog.
func NewInterpreter(cat *catalog.Catalog) *Interpreter {
	return &Interpreter{Catalog: cat, compiled: pbstore.NewCache[*playbook.Compiled](pbstore.DefaultCacheSize)}
}

// compile returns the compiled playbook of an inline input, from cache
// when the same digest was seen before.
func (in *Interpreter) compile(input *Input) (*playbook.Compiled, error) {
	if in.compiled == nil {
		in.compiled = pbstore.NewCache[*playbook.Compiled](pbstore.DefaultCacheSize)
	}
	key := input.Digest + "/" + input.Playbook.Name
	if c, ok := in.compiled.Get(key); ok {
		return c, nil
	}
	// The input was validated when its run started, perhaps by an
	// earlier release: a check added since must not fail it (it replays
	// from this input after every worker restart).
	c, diags := playbook.CompileStored(input.Playbook, in.Catalog, input.Digest)
	if len(diags) > 0 {
		return nil, diags
	}
	in.compiled.Add(key, c)
	return c, nil
}

// load returns the run's compiled playbook: from the store for a run by
// reference, compiled from the input for an inline one. A playbook that
// cannot be found or compiled is a non-retryable error when the run
// starts; while replaying a run that already found it, the workflow task
// fails instead (and is retried), so the run waits for a worker that has
// the version rather than ending differently from its history.
func (in *Interpreter) load(ctx workflow.Context, input *Input) (*playbook.Compiled, error) {
	switch {
	case input.PlaybookRef != nil:
		ref := input.PlaybookRef
		var c *playbook.Compiled
		err := errors.New("this worker has no playbook store")
		if in.Store != nil {
			c, err = in.Store.Get(ref.Name, ref.Version, ref.Digest) //workflowcheck:ignore content-addressed: a digest always yields the same playbook
		}
		if err == nil {
			return c, nil
		}
		msg := fmt.Sprintf("playbook %s version %d (digest %s) is not available to this worker: %v. "+
			"Put that version back where the workers load playbooks from (their playbooks directory, RIPOSTE_PLAYBOOKS, "+
			"or the shared playbook store, RIPOSTE_PLAYBOOK_STORE, as %s.yaml), then submit the detection again",
			ref.Name, ref.Version, ref.Digest, err, ref.Digest)
		if workflow.IsReplaying(ctx) {
			panic(msg)
		}
		return nil, temporal.NewNonRetryableApplicationError(msg, ErrPlaybookUnavailable, nil)
	case input.Playbook != nil:
		c, err := in.compile(input) //workflowcheck:ignore compiling is pure and cached by digest
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("playbook %s does not compile: %v", input.Playbook.Name, err), "BadInput", nil)
		}
		return c, nil
	}
	return nil, temporal.NewNonRetryableApplicationError("input has no playbook", "BadInput", nil)
}

// run is the state of one execution.
type run struct {
	in       *Interpreter
	input    *Input
	pb       *playbook.Compiled
	info     *workflow.Info
	results  []StepResult // by step index; Status is the step's live status
	vars     map[string]any
	detect   map[string]any
	finding  map[string]any
	aborted  bool
	abortErr string
	// abortSummary says why the run failed without quoting detection or
	// vendor text: it is the failure message shown in clear in the history
	// and the Temporal UI (abortErr, with the reason, is in the encrypted
	// details).
	abortSummary string
	// withdrawn is set when the detection was withdrawn during the run
	// (outcome withdrawn); withdrawal and changes hold the finding's later
	// records (lifecycle.go).
	withdrawn     bool
	withdrawal    *Withdrawal
	changes       []FindingChange
	lifecycleBusy int
	// rollbackWhy, once the run was rolled back while containment was
	// still to come, says who rolled it back: no further contain step
	// starts (stopOnRollback, rollbackStop).
	rollbackWhy string
	// activeRecord is the latest finding.RecordTime of the active records
	// the run was sent (its input's is read at need: latestActive).
	activeRecord int64
	// outcomes is true for runs started with ChangeOutcomes: a denied or
	// timed-out gate no longer aborts, always: steps run, the run records
	// an Outcome, dry-run holds release at once. Older histories replay
	// without it.
	outcomes bool
	// local is true for runs started with ModelLocalSteps: steps that
	// LocalStep allows run as local activities.
	local bool
	// outcome and outcomeDetail are set when the run ends.
	outcome, outcomeDetail string
	// holdUntil is the HoldUntil search attribute as last upserted.
	holdUntil time.Time
	// watchingHolds is true while watchHolds runs; watched once it has
	// started (holds-while-running); stepsDone tells it the steps ended.
	watchingHolds, watched, stepsDone bool
	// root is the run's context, which schedule's step context (cancelled
	// when the steps end or abort) derives from.
	root workflow.Context
	// rolledBack is set when a rollback workflow undid this run's
	// containment (SignalRolledBack).
	rolledBack *RolledBack
	// rollbackWaits counts the rollbacks whose outcome the run waits for
	// (awaitRollback).
	rollbackWaits int
	// rollbackUndid are the undo calls that succeeded in the rollbacks
	// whose outcome the run read (rollbackEnded): a hold whose release
	// failed, handed over after a rollback that failed, leaves out only
	// the targets a rollback undid (handOverFailedRelease). State only.
	rollbackUndid []UndoResult
	// gates by id (the step id), and their order of opening.
	gates     map[string]*gateState
	gateOrder []string
	holds     []*Hold
	// ranAhead holds, by step index, the steps that their predecessor's
	// local call ran and that succeeded (RevRunAhead).
	ranAhead map[int]*ranAhead
	// ownEnd is, by step index, when a step whose call ran the next step
	// too ended its own action.
	ownEnd map[int]*time.Time
	// usedSeals are the MACs of the sealed requests this run has already
	// received (see useSeal).
	usedSeals map[string]bool
	// submitters are those whose later records of the finding raised the
	// run's view (other than the requester): they may not decide the
	// gates opened after (Gate.Submitters).
	submitters []string
	// reopened is the record that reopened the withdrawn run's finding:
	// the run continues as a new run for it (reopen.go).
	reopened *FindingUpdate
	// containing counts, by undo action, the contain calls in flight of a
	// run that continues a withdrawn one (Input.ReopenedFrom): an
	// inherited hold with that undo is not released meanwhile, nor such a
	// call made while one is being released (reopen.go, serialInherited).
	containing map[string]int
}

// Run executes the playbook in input as a DAG. It returns the result, or a
// non-retryable RunFailed error (details: the Result) when a step fails
// with on_failure: abort.
func (in *Interpreter) Run(ctx workflow.Context, input Input) (*Result, error) {
	pb, err := in.load(ctx, &input)
	if err != nil {
		if input.Rev >= RevLean {
			// The start request said running; the run ends here.
			if uerr := workflow.UpsertTypedSearchAttributes(ctx, SARunStatus.ValueSet(RunFailed)); uerr != nil {
				workflow.GetLogger(ctx).Warn("cannot update RunStatus", "error", uerr)
			}
		}
		return nil, err
	}
	// The first command of a new run: its marker tells replays which
	// behaviour the run was started with.
	// The same marker records the execution model: version 2 runs short
	// steps as local activities (LocalStep). Runs recorded at version 1
	// replay with regular activities; no extra marker per run.
	var model workflow.Version = ModelLocalSteps
	if input.Rev < RevByReference || input.PlaybookRef == nil {
		model = workflow.GetVersion(ctx, ChangeOutcomes, workflow.DefaultVersion, ModelLocalSteps)
	}
	outcomes := model >= 1
	info := workflow.GetInfo(ctx)
	r := &run{
		outcomes: outcomes,
		local:    model >= ModelLocalSteps,
		in:       in,
		input:    &input,
		pb:       pb,
		info:     info,
		detect:   input.Detection,
		gates:    map[string]*gateState{},
	}
	if r.detect == nil {
		r.detect = map[string]any{}
	}
	r.finding = input.Finding
	if r.finding == nil {
		// A run whose input carried no view (recorded before views were):
		// rebuilt as it was then (an unmapped JSON text not read), so its
		// history replays as recorded.
		legacy := finding.DefaultConfig()
		legacy.UnmappedObjectOnly = true
		r.finding = finding.Build(r.detect, legacy) //workflowcheck:ignore pure: sorted keys, no clock
	}
	started := workflow.Now(ctx)
	r.results = make([]StepResult, len(pb.Steps))
	for i, s := range pb.Steps {
		r.results[i] = StepResult{ID: s.ID, Name: s.Name, Action: s.Step.Action, Status: playbook.StatusPending}
	}
	if err := workflow.SetQueryHandler(ctx, QuerySteps, func() ([]StepResult, error) {
		return r.snapshot(), nil
	}); err != nil {
		return nil, err
	}
	if err := r.registerApprovalHandlers(ctx); err != nil {
		return nil, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryHolds, func() ([]Hold, error) { return r.holdList(), nil }); err != nil {
		return nil, err
	}
	if err := r.registerHoldHandlers(ctx); err != nil {
		return nil, err
	}
	if r.outcomes {
		r.listenRolledBack(ctx)
	}
	if err := r.registerLifecycle(ctx); err != nil {
		return nil, err
	}
	r.takeOverInherited(ctx)
	if input.Rev >= RevLean {
		workflow.SetCurrentDetails(ctx, r.details(RunRunning))
	} else {
		r.setRunStatus(ctx, RunRunning)
	}

	res := &Result{
		Playbook:  pb.Playbook.Name,
		Version:   pb.Playbook.Version,
		Digest:    pb.Digest,
		Simulated: input.Simulated(),
		StartedAt: started,
	}

	switch err := r.evalVars(); {
	case r.withdrawnAtStart(ctx, started):
		// Recorded as withdrawn: no step runs.
	case err != nil:
		r.aborted, r.abortErr = true, err.Error()
		r.abortSummary = "evaluating vars failed"
		for i := range r.results {
			r.finish(ctx, i, stepEnd{Status: playbook.StatusSkipped, Reason: "run failed before this step: " + err.Error()})
		}
	default:
		r.schedule(ctx)
	}
	r.stepsEnded()

	r.reviewLateContainment(ctx)
	r.releaseHolds(ctx)
	r.awaitLifecycle(ctx)
	if r.continuesReopened(ctx) {
		return nil, r.continueReopened(ctx)
	}
	res.Steps = r.snapshot()
	res.Gates = r.gateList()
	for _, h := range r.holds {
		res.Holds = append(res.Holds, h.view())
	}
	res.Outputs = r.outputs()
	res.Withdrawn = r.withdrawal
	if len(r.changes) > 0 {
		res.Finding, res.FindingChanges = r.finding, r.changes
	}
	res.EndedAt = workflow.Now(ctx)
	res.RolledBack = r.rolledBack
	if r.outcomes {
		r.outcome, r.outcomeDetail = r.computeOutcome()
		res.Outcome, res.OutcomeDetail = r.outcome, r.outcomeDetail
	}
	if r.cancelledEnd(ctx) {
		// The end's updates (RunStatus, the approval messages) run on a
		// context the cancellation does not reach: on the cancelled one
		// they were never scheduled.
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		res.Status = RunCanceled
		res.Error = r.abortErr
		r.endRun(dctx, RunCanceled)
		return res, nil
	}
	if r.aborted {
		res.Status = RunFailed
		res.Error = r.abortErr
		r.endRun(ctx, RunFailed)
		return nil, temporal.NewNonRetryableApplicationError("run failed: "+r.abortSummary, ErrRunFailed, nil, res)
	}
	res.Status = RunSucceeded
	r.endRun(ctx, RunSucceeded)
	return res, nil
}

// changeCancelledEnd is the workflow.GetVersion change id of a cancelled
// run recording its end: status canceled (it read succeeded), and its last
// updates on a disconnected context. Runs cancelled before it replay as
// they ran.
const changeCancelledEnd = "cancelled-end"

// cancelledEnd reports whether the run ends because it was cancelled
// (Temporal UI, tctl) and records that end.
func (r *run) cancelledEnd(ctx workflow.Context) bool {
	return ctx.Err() != nil && workflow.GetVersion(ctx, changeCancelledEnd, workflow.DefaultVersion, 1) >= 1
}

// endRun records the final RunStatus and, for runs with outcomes, the
// Outcome (and clears HoldUntil) in the same upsert.
func (r *run) endRun(ctx workflow.Context, status string) {
	if !r.outcomes {
		r.setRunStatus(ctx, status)
		return
	}
	workflow.SetCurrentDetails(ctx, r.details(status))
	attrs := []temporal.SearchAttributeUpdate{SARunStatus.ValueSet(status), SAOutcome.ValueSet(r.outcome)}
	if !r.holdUntil.IsZero() {
		attrs = append(attrs, SAHoldUntil.ValueUnset())
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, attrs...); err != nil {
		workflow.GetLogger(ctx).Warn("cannot update RunStatus and Outcome", "error", err)
	}
	// The approval messages say how the run ended.
	r.refreshGateMessages(ctx, status, "")
}

// stepAborts reports whether step i ending in its current status aborts
// the run (unless on_failure: continue). With outcomes, only a real
// failure does: a denied, refused or timed-out approval is a decision.
func (r *run) stepAborts(i int) bool {
	st := r.results[i].Status
	if !r.outcomes {
		return st == playbook.StatusFailed || st == playbook.StatusTimedOut || st == playbook.StatusDenied
	}
	switch st {
	case playbook.StatusFailed:
		return true
	case playbook.StatusTimedOut:
		// A step times out either at its gate (a decision) or in its
		// action (a failure).
		g := r.results[i].Gate
		return g == nil || g.State != GateTimedOut
	}
	return false
}

// always reports whether the step runs whatever happened upstream.
func (r *run) always(s *playbook.CStep) bool { return r.outcomes && s.Step.Always }

// schedule runs the DAG: every step whose needs are all finished starts, in
// declaration order, each in its own workflow coroutine.
func (r *run) schedule(ctx workflow.Context) {
	steps := r.pb.Steps
	idx := make(map[string]int, len(steps))
	for i, s := range steps {
		idx[s.ID] = i
	}
	r.root = ctx // watchHolds outlives the steps' context
	stepCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	done := workflow.NewChannel(ctx)
	running := 0
	started := make([]bool, len(steps))
	for {
		for i, s := range steps {
			if started[i] {
				continue
			}
			// A step its predecessor's call already ran is recorded as it
			// ran, even when the run aborted meanwhile.
			if r.aborted && !r.always(s) && r.ranAhead[i] == nil {
				started[i] = true
				r.finish(ctx, i, stepEnd{Status: playbook.StatusSkipped, Reason: r.stopReason()})
				continue
			}
			// A cancelled run starts no step, always: ones included
			// (RevContainFinishes; before, each failed as cancelled).
			if r.input.Rev >= RevContainFinishes && ctx.Err() != nil && r.ranAhead[i] == nil {
				started[i] = true
				r.finish(ctx, i, stepEnd{Status: playbook.StatusSkipped, Reason: "run cancelled"})
				continue
			}
			ready, blocked := true, ""
			for _, n := range s.Needs {
				st := r.results[idx[n]].Status
				if !terminal(st) {
					ready = false
					break
				}
				if st != playbook.StatusSucceeded && blocked == "" {
					blocked = fmt.Sprintf("needs %s, which %s", n, st)
				}
			}
			if !ready {
				continue
			}
			started[i] = true
			// A step after one that did not succeed runs only when its own
			// `if` says so.
			if blocked != "" && s.If == nil && !r.always(s) {
				r.finish(ctx, i, stepEnd{Status: playbook.StatusSkipped, Reason: blocked})
				continue
			}
			running++
			i := i
			// An always: step is not cancelled when the run aborts.
			sctx := stepCtx
			if r.always(s) {
				sctx = ctx
			}
			workflow.Go(sctx, func(gctx workflow.Context) {
				r.runStep(gctx, i)
				done.Send(gctx, i)
			})
		}
		if running == 0 {
			// Nothing in flight: either all steps started, or the rest are
			// waiting on steps that were skipped above (loop again).
			all := true
			for i := range steps {
				if !started[i] {
					all = false
				}
			}
			if all {
				return
			}
			continue
		}
		var i int
		done.Receive(ctx, &i)
		running--
		s := steps[i]
		st := r.results[i].Status
		if r.always(s) && r.aborted {
			// An always: step that ends after the abort does not abort again.
			continue
		}
		if r.input.Rev >= RevContainFinishes && ctx.Err() != nil {
			// A step that ends after the run was cancelled (its call cut
			// short) does not abort it: the cancel ends the run, and its
			// outcome says what the steps did, not "failed".
			continue
		}
		if r.stepAborts(i) && s.OnFailure != playbook.OnFailureContinue && !r.aborted {
			r.aborted = true
			r.abortErr = fmt.Sprintf("step %s %s: %s", s.ID, st, cmp.Or(r.results[i].Error, r.results[i].Reason))
			r.abortSummary = fmt.Sprintf("step %s %s (%s); the reason is in the run's result", s.ID, st, s.Step.Action)
			cancel()
		}
	}
}

// stepEnd is how a step ended: its final status, its output, what went
// wrong (Error, for failures) and why it was decided so (Reason: skipped,
// denied, timed out).
type stepEnd struct {
	Status string
	Output any
	Error  string
	Reason string
}

// finish records a step's final state.
func (r *run) finish(ctx workflow.Context, i int, end stepEnd) {
	now := workflow.Now(ctx)
	res := &r.results[i]
	res.Status = end.Status
	res.Output = end.Output
	res.Error = end.Error
	res.Reason = end.Reason
	if res.StartedAt == nil {
		res.StartedAt = &now
	}
	res.EndedAt = &now
	workflow.SetCurrentDetails(ctx, r.details(RunRunning))
}

func (r *run) setStatus(ctx workflow.Context, i int, status string) {
	r.results[i].Status = status
	workflow.SetCurrentDetails(ctx, r.details(RunRunning))
}
