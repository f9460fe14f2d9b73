package workflows

import (
	"fmt"
	"maps"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// aheadOf is the step a local call of step cs runs once it succeeded
// (RevRunAhead), or -1. It is the step the run would start right after cs
// and run exactly so, with nothing to decide in between:
//   - it is the only step that needs cs, and needs nothing else;
//   - it runs local too (LocalStep), as a read or notify action, once (no
//     for_each), with no `if`, no approval block and no `always`;
//   - the run is real (a dry run simulates per step) and not aborted.
//
// Its params may refer only to its upstream steps (the validator's rule):
// cs and the steps cs needed, all finished by then. They are rendered with
// the run's state as cs's call started: a finding update applied during
// the call is not in them, and takeAhead says so on the step.
func (r *run) aheadOf(cs *playbook.CStep) int {
	if r.input.Rev < RevRunAhead || !r.local || r.input.Simulated() || r.aborted {
		return -1
	}
	next := -1
	for j, s := range r.pb.Steps {
		for _, n := range s.Needs {
			if n != cs.ID {
				continue
			}
			if next >= 0 {
				return -1 // two steps wait for cs: both start when it ends
			}
			next = j
		}
	}
	if next < 0 {
		return -1
	}
	ns := r.pb.Steps[next]
	a := ns.Action
	switch {
	case len(ns.Needs) != 1, ns.If != nil, ns.ForEach != nil, ns.Step.Approval != nil, ns.Step.Always,
		a == nil, a.Risk != catalog.RiskRead && a.Risk != catalog.RiskNotify,
		!LocalStep(ns, r.input.Rev), r.results[next].Status != playbook.StatusPending:
		return -1
	}
	return next
}

// ahead prepares the Ahead of a local call of step cs that runs step j
// next: the next step's call, its time, and its params rendered from a
// copy of the run's state as it will be when cs succeeded.
func (r *run) ahead(cs *playbook.CStep, j int) *catalog.Ahead {
	ns := r.pb.Steps[j]
	timeout := ns.Timeout.D()
	if timeout <= 0 {
		timeout = LocalStepTimeout
	}
	env := r.env().Map()
	steps, _ := env["steps"].(map[string]any)
	id := cs.ID
	return &catalog.Ahead{
		Call: catalog.Call{
			Action:         ns.Step.Action,
			WorkflowID:     r.info.WorkflowExecution.ID,
			RunID:          r.info.WorkflowExecution.RunID,
			StepID:         ns.ID,
			Index:          -1,
			IdempotencyKey: r.stepKey(ns.ID, -1),
		},
		Timeout: timeout,
		// Runs in the activity, once per attempt, on its own copies of the
		// maps it changes (env and steps were built for it by env()).
		Render: func(prev map[string]any) (map[string]any, error) {
			s := maps.Clone(steps)
			s[id] = map[string]any{"status": playbook.StatusSucceeded, "output": prev, "error": nil}
			e := maps.Clone(env)
			e["steps"] = s
			return renderParams(ns, e)
		},
	}
}

// aheadSummary names both steps on the marker of a call that runs the next
// one too.
func aheadSummary(summary string, ns *playbook.CStep) string {
	return summary + ", then " + stepTitle(ns)
}

// takeAhead records the next step's result that step i's local call
// returned under catalog.AheadKey, when it succeeded; the step then
// finishes as soon as the scheduler reaches it (runStep). It removes the
// key from out. views is how many finding updates the run had applied
// when the call started.
func (r *run) takeAhead(ctx workflow.Context, fut workflow.Future, out map[string]any, i, j, views int) {
	if _, ok := out[catalog.AheadKey]; !ok {
		return
	}
	delete(out, catalog.AheadKey)
	var res struct {
		Ahead *catalog.AheadResult `json:"riposte_ahead"`
	}
	if fut.Get(ctx, &res) != nil || res.Ahead == nil {
		return
	}
	a := res.Ahead
	if !a.FirstEndedAt.IsZero() {
		if r.ownEnd == nil {
			r.ownEnd = map[int]*time.Time{}
		}
		t := a.FirstEndedAt.In(time.UTC)
		r.ownEnd[i] = &t
	}
	if a.Status != playbook.StatusSucceeded || a.Step != r.pb.Steps[j].ID {
		return
	}
	if a.Params == nil {
		a.Params = map[string]any{}
	}
	if a.Output == nil {
		a.Output = map[string]any{}
	}
	ran := &ranAhead{AheadResult: *a}
	if len(r.changes) != views {
		// Rendered from the view the call started with: say so.
		ran.note = fmt.Sprintf("run ahead in step %s's call, with the finding as it was when that call started: the update received during the call reached the steps after it", r.pb.Steps[i].ID)
	}
	if r.ranAhead == nil {
		r.ranAhead = map[int]*ranAhead{}
	}
	r.ranAhead[j] = ran
}

// ranAhead is a step its predecessor's call ran, and the reason recorded
// with it.
type ranAhead struct {
	catalog.AheadResult
	note string
}

// finishAhead records step i as its predecessor's call ran it.
func (r *run) finishAhead(ctx workflow.Context, i int, a *ranAhead) {
	cs := r.pb.Steps[i]
	started, ended := a.StartedAt.In(time.UTC), a.EndedAt.In(time.UTC)
	r.results[i].Params = a.Params
	// As runStep after a call that succeeded (no-ops for the read and
	// notify actions run ahead, kept so the two paths cannot drift).
	r.undoneBy(ctx, cs, a.Params)
	r.tookOver(cs, a.Params, a.Output)
	if !r.heldElsewhere(ctx, cs, a.Output) {
		r.addHold(ctx, cs, []map[string]any{a.Params})
	}
	r.finish(ctx, i, stepEnd{Status: playbook.StatusSucceeded, Output: a.Output, Reason: a.note})
	r.results[i].StartedAt, r.results[i].EndedAt = &started, &ended
}
