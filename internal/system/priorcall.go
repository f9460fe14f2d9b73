package system

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/endedruns"
	"github.com/riposte-dev/riposte/workflows"
)

// priorCall answers activities.Env.PriorCall from the history of the run a
// reset run was reset from: whether that run made the same call (step,
// index, action; its checked activity type counts) and it completed
// without finding its containment already in place. A call that never
// completed there (failed, timed out, in flight at the reset) is false:
// no answer says it applied anything. One that run (or riposte rollback
// of it, any run of the rollback:<id> workflow) undid since is false
// too: what the call finds in place now is not that run's, and may be
// someone else's.
//
// call.ResetFrom is workflow.Info.OriginalRunID, which Temporal keeps
// across resets: the first run of a chain of resets, not the run this one
// was reset from. That run (the base) is read from the reset's own record
// in this run's history (the WorkflowTaskFailed event of cause
// RESET_WORKFLOW whose new_run_id is this run: its base_run_id); a run
// with no such record falls back to call.ResetFrom.
func priorCall(c client.Client, dc converter.DataConverter) func(context.Context, catalog.Call) (bool, error) {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	return func(ctx context.Context, call catalog.Call) (bool, error) {
		// A run that continues a withdrawn one (catalog.Call.ContinuedFrom,
		// a reopened finding) reads that run: no reset record, and no
		// run reset from it carried its calls on.
		if call.ResetFrom == "" && call.ContinuedFrom != "" {
			return continuedCall(ctx, c, dc, call)
		}
		base, err := resetBase(ctx, c, call)
		if err != nil {
			return false, err
		}
		it := c.GetWorkflowHistory(ctx, call.WorkflowID, base, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		applied, params, err := appliedIn(it, dc, call, base)
		if err != nil || !applied {
			return false, err
		}
		// Undone since (its contain_for released it, a withdrawal undid
		// it, riposte rollback lifted it): what the call finds in place
		// now is not that run's, and may be someone else's.
		it = c.GetWorkflowHistory(ctx, call.WorkflowID, base, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		if undone, err := undoneIn(it, dc, call, params, base, nil); err != nil || undone {
			return false, err
		}
		// Another run reset from base (directly or through resets of
		// it) carried base's call on: it claimed what base applied, or
		// applied it again. Its release, or a rollback naming it, lifted
		// base's containment too.
		carriers, err := resetFromBase(ctx, c, call, base)
		if err != nil {
			return false, err
		}
		for _, run := range carriers {
			it := c.GetWorkflowHistory(ctx, call.WorkflowID, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			undone, err := undoneIn(it, dc, call, params, base, nil)
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				continue // gone with the namespace's retention since it was listed
			}
			if err != nil || undone {
				return false, err
			}
		}
		forRuns := map[string]bool{base: true}
		for _, run := range carriers {
			forRuns[run] = true
		}
		if undone, err := rolledBack(ctx, c, dc, call, params, base, forRuns); err != nil || undone {
			return false, err
		}
		return true, nil
	}
}

// maxContinued bounds the runs of a chain of reopenings continuedCall
// reads.
const maxContinued = 16

// continuedCall answers priorCall for a run that continues a withdrawn
// run (call.ContinuedFrom, continue-as-new for a record reopening its
// finding). The call is that run's when a run of the chain before it
// applied it (the withdrawn run, or, when that one only inherited the
// hold, the run it continues in turn: read through each run's start
// event) and nothing undid it since: that run (its release, withdrawal),
// a rollback of it, or a later run of the chain, this one included, that
// released it as an inherited hold, or whose rollback undid it as one.
func continuedCall(ctx context.Context, c client.Client, dc converter.DataConverter, call catalog.Call) (bool, error) {
	later := []string{call.RunID} // the runs of the chain after base
	inherited := call
	inherited.StepID = workflows.InheritedPrefix + call.StepID // its release: "inherited:STEP.release"
	for base := call.ContinuedFrom; base != "" && !slices.Contains(later, base) && len(later) <= maxContinued; {
		it := c.GetWorkflowHistory(ctx, call.WorkflowID, base, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		applied, params, err := appliedIn(it, dc, call, base)
		if err != nil {
			return false, err
		}
		if !applied {
			// Inherited from the run before it, or never applied.
			prev, err := endedruns.ContinuedFrom(ctx, c, call.WorkflowID, base)
			if err != nil {
				return false, err
			}
			later, base = append(later, base), prev
			continue
		}
		it = c.GetWorkflowHistory(ctx, call.WorkflowID, base, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		if undone, err := undoneIn(it, dc, call, params, base, nil); err != nil || undone {
			return false, err
		}
		for _, run := range later {
			if run == "" {
				continue
			}
			it := c.GetWorkflowHistory(ctx, call.WorkflowID, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			if undone, err := undoneIn(it, dc, inherited, params, base, nil); err != nil || undone {
				return false, err
			}
		}
		if undone, err := rolledBack(ctx, c, dc, call, params, base, map[string]bool{base: true}); err != nil || undone {
			return false, err
		}
		// A rollback of a later run of the chain undoes a hold it
		// inherited that nothing releases any more (its release failed,
		// or the run ended): its call names step inherited:STEP and that
		// run, and lifted base's containment as the release would have.
		forLater := map[string]bool{}
		for _, run := range later {
			if run != "" {
				forLater[run] = true
			}
		}
		if undone, err := rolledBack(ctx, c, dc, inherited, params, base, forLater); err != nil || undone {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// resetFromBase lists the runs of call's workflow id, other than call's
// own, that a reset started from base, directly or through resets of such
// runs (each run's reset record names the run it was reset from:
// endedruns.ResetRecord). The Temporal UI resets any run, not only the
// latest: base may have been reset before (run B, which carried base's
// call on) and reset again now (call's run). Visibility may lag behind:
// a list without call's own run (the newest) may lack others too, and is
// an error (the reset run then takes what it finds as preexisting).
func resetFromBase(ctx context.Context, c client.Client, call catalog.Call, base string) ([]string, error) {
	if call.RunID == "" {
		return nil, nil
	}
	var runs []string
	listed := false
	for attempt := 0; ; attempt++ {
		runs, listed = nil, false
		var token []byte
		for {
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Query: "WorkflowId = " + queryString(call.WorkflowID), NextPageToken: token})
			if err != nil {
				return nil, fmt.Errorf("listing the runs of %s reset from run %s: %w", call.WorkflowID, base, err)
			}
			for _, e := range resp.GetExecutions() {
				switch run := e.GetExecution().GetRunId(); run {
				case call.RunID:
					listed = true
				case base:
				default:
					runs = append(runs, run)
				}
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				break
			}
		}
		if listed || attempt == 2 {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	if !listed {
		return nil, fmt.Errorf("the runs of %s listed by visibility lack run %s: visibility is behind, and may lack a run reset from run %s", call.WorkflowID, call.RunID, base)
	}
	// parent: the run each run was reset from ("": none), read once.
	parent := map[string]string{}
	parentOf := func(run string) (string, error) {
		if p, ok := parent[run]; ok {
			return p, nil
		}
		r, err := endedruns.ResetRecord(ctx, c, call.WorkflowID, run)
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			r, err = nil, nil // gone with the namespace's retention
		case err != nil:
			return "", err
		}
		p := ""
		if r != nil {
			p = r.BaseRunID
		}
		parent[run] = p
		return p, nil
	}
	var out []string
	for _, run := range runs {
		seen := map[string]bool{}
		for r := run; r != "" && !seen[r]; {
			seen[r] = true
			p, err := parentOf(r)
			if err != nil {
				return nil, err
			}
			if p == base {
				out = append(out, run)
				break
			}
			r = p
		}
	}
	return out, nil
}

// rolledBack reports whether any run of rollback:<id> undid base's call:
// an undo call naming one of forRuns (base, and the runs reset from it
// that carried its call on).
// The API starts that id again (a rollback that failed, one for a later
// run of the workflow or for what the run contained after the last one),
// so the run that undid it need not be the latest. The latest is read by
// its id (consistent); the others are listed by visibility, which may lag
// behind: a list without the latest run may lack earlier ones too, and is
// an error (the reset run then takes what it finds as preexisting) rather
// than a guess. No rollback:<id> at all: never rolled back.
func rolledBack(ctx context.Context, c client.Client, dc converter.DataConverter, call catalog.Call, params map[string]any, base string, forRuns map[string]bool) (bool, error) {
	rid := "rollback:" + call.WorkflowID
	var nf *serviceerror.NotFound
	desc, err := c.DescribeWorkflowExecution(ctx, rid, "")
	if errors.As(err, &nf) {
		return false, nil // never rolled back
	}
	if err != nil {
		return false, fmt.Errorf("reading %s for the undo calls of run %s: %w", rid, base, err)
	}
	latest := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	it := c.GetWorkflowHistory(ctx, rid, latest, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if undone, err := undoneIn(it, dc, call, params, base, forRuns); err != nil || undone {
		return undone, err
	}
	listed := false
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowId = " + queryString(rid), NextPageToken: token})
		if err != nil {
			return false, fmt.Errorf("listing the runs of %s for the undo calls of run %s: %w", rid, base, err)
		}
		for _, e := range resp.GetExecutions() {
			run := e.GetExecution().GetRunId()
			if run == latest {
				listed = true
				continue
			}
			it := c.GetWorkflowHistory(ctx, rid, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			undone, err := undoneIn(it, dc, call, params, base, forRuns)
			if errors.As(err, &nf) {
				continue // gone with the namespace's retention since it was listed
			}
			if err != nil || undone {
				return undone, err
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if !listed {
		return false, fmt.Errorf("the runs of %s listed by visibility lack its latest run %s: visibility is behind, and may lack the run that undid run %s's call", rid, latest, base)
	}
	return false, nil
}

// queryString quotes s as a visibility query string literal (backslash
// escapes, as Temporal's query parser reads them).
func queryString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// undoneIn reports whether history it holds a completed undo call of
// call's step (its contain_for release, a withdrawal's undo, a rollback's)
// with the applied call's params, its target, for a run of forRuns (the
// rollback workflow's calls name the run they undo; nil for a run's own
// history). Params, not the index: a for_each step's release numbers only
// the items it held.
func undoneIn(it client.HistoryEventIterator, dc converter.DataConverter, call catalog.Call, params map[string]any, base string, forRuns map[string]bool) (bool, error) {
	undo := map[string]bool{call.StepID + ".release": true, call.StepID + ".withdrawn": true, call.StepID + ".rollback": true}
	scheduled := map[int64]bool{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return false, fmt.Errorf("reading the undo calls for run %s of %s: %w", base, call.WorkflowID, err)
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			var earlier catalog.Call
			if err := dc.FromPayloads(a.GetInput(), &earlier); err != nil {
				continue // not a catalog call
			}
			if undo[earlier.StepID] && reflect.DeepEqual(earlier.Params, params) && (forRuns == nil || forRuns[earlier.RunID]) {
				scheduled[e.GetEventId()] = true
			}
			continue
		}
		if a := e.GetActivityTaskCompletedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] {
			return true, nil
		}
	}
	return false, nil
}

// appliedIn reports whether history it holds call's own call (step, index,
// action), completed without finding its containment in place, and that
// call's params.
func appliedIn(it client.HistoryEventIterator, dc converter.DataConverter, call catalog.Call, base string) (bool, map[string]any, error) {
	scheduled := map[int64]struct{ params map[string]any }{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return false, nil, fmt.Errorf("reading run %s of %s: %w", base, call.WorkflowID, err)
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			if strings.TrimSuffix(a.GetActivityType().GetName(), catalog.CheckedSuffix) != call.Action {
				continue
			}
			var earlier catalog.Call
			if err := dc.FromPayloads(a.GetInput(), &earlier); err != nil {
				return false, nil, fmt.Errorf("reading the input of %s in run %s: %w", call.Action, base, err)
			}
			if earlier.StepID == call.StepID && earlier.Index == call.Index {
				scheduled[e.GetEventId()] = struct{ params map[string]any }{earlier.Params}
			}
			continue
		}
		if a := e.GetActivityTaskCompletedEventAttributes(); a != nil {
			sc, ok := scheduled[a.GetScheduledEventId()]
			if !ok {
				continue
			}
			var out map[string]any
			if err := dc.FromPayloads(a.GetResult(), &out); err != nil {
				return false, nil, fmt.Errorf("reading the result of %s in run %s: %w", call.Action, base, err)
			}
			pre, _ := out[catalog.OutputPreexisting].(bool)
			return !pre, sc.params, nil
		}
	}
	return false, nil, nil
}

// resetBase is the run call's run was reset from: the base run of the
// reset record naming call.RunID as its new run (endedruns.ResetRecord).
// No record (or no RunID): call.ResetFrom.
func resetBase(ctx context.Context, c client.Client, call catalog.Call) (string, error) {
	if call.RunID == "" {
		return call.ResetFrom, nil
	}
	r, err := endedruns.ResetRecord(ctx, c, call.WorkflowID, call.RunID)
	if err != nil {
		return "", err
	}
	if r == nil {
		return call.ResetFrom, nil
	}
	return r.BaseRunID, nil
}
