package workflows

import (
	"fmt"
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
	// Via and Seal: set by the signer (see Decision.Seal).
	Via  string        `json:"via,omitempty"`
	Seal *signing.Seal `json:"seal,omitempty"`
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
}

// Rollback runs the undo calls one by one; a failed undo does not stop the
// others, and the workflow fails at the end if any failed.
func Rollback(ctx workflow.Context, in RollbackInput, keys *signing.Keys) ([]UndoResult, error) {
	// A rollback started straight through Temporal (no seal) is refused
	// before anything is undone; histories from before seals replay as
	// they ran.
	if workflow.GetVersion(ctx, ChangeSignedDecisions, workflow.DefaultVersion, 1) >= 1 {
		if err := keys.Verify(RollbackClaim(in), in.Seal); err != nil {
			// The logger is replay-aware: audited once.
			workflow.GetLogger(ctx).Warn("audit: rollback workflow refused", "run", in.WorkflowID, "requester", in.Requester, "via", in.Via, "refusal", err.Error())
			return nil, temporal.NewNonRetryableApplicationError("rollback refused: "+err.Error(), "RollbackRefused", nil)
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
			Action: u.Undo, Params: u.Params, WorkflowID: in.WorkflowID, RunID: in.RunID, StepID: u.Step + ".rollback",
			Index: u.Index, IdempotencyKey: fmt.Sprintf("rollback:%s/%s/%d", in.WorkflowID, u.Step, u.Index),
			DryRun: in.DryRun,
		}
		res := UndoResult{UndoCall: u, Status: "succeeded"}
		if err := workflow.ExecuteActivity(actx, u.Undo, call).Get(ctx, nil); err != nil {
			res.Status, res.Error = "failed", errorMessage(err)
			failed++
		}
		out = append(out, res)
	}
	if failed > 0 {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%d of %d undo actions failed", failed, len(out)), ErrRollbackFailed, nil, out)
	}
	return out, nil
}

// UndoCalls lists the undo calls for a finished run's steps, newest first.
func UndoCalls(steps []StepResult, cat *catalog.Catalog) []UndoCall {
	type done struct {
		at   time.Time
		call UndoCall
	}
	var calls []done
	for _, st := range steps {
		a, ok := cat.Lookup(st.Action)
		if !ok || a.Risk != catalog.RiskContain || a.Undo == "" || st.Status != playbook.StatusSucceeded || st.EndedAt == nil {
			continue
		}
		if len(st.Items) > 0 {
			for _, it := range st.Items {
				if p, ok := it.Params.(map[string]any); ok && it.Status == "succeeded" {
					calls = append(calls, done{*st.EndedAt, UndoCall{Step: st.ID, Action: st.Action, Undo: a.Undo, Index: it.Index, Params: p}})
				}
			}
			continue
		}
		if p, ok := st.Params.(map[string]any); ok {
			calls = append(calls, done{*st.EndedAt, UndoCall{Step: st.ID, Action: st.Action, Undo: a.Undo, Index: -1, Params: p}})
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
