package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/workflows"
)

// RegisterRollbackOutcome registers workflows.ActivityRollbackOutcome,
// which reads rollback runs through c.
func RegisterRollbackOutcome(w worker.ActivityRegistry, c client.Client) {
	w.RegisterActivityWithOptions(RollbackOutcome(c, 0), activity.RegisterOptions{Name: workflows.ActivityRollbackOutcome})
}

// RollbackOutcome answers workflows.ActivityRollbackOutcome: it waits for
// the rollback run to end, heartbeating every beat (15 s when 0), and says
// how it ended. A run that ended in any way but success (its undo
// failures, refused, terminated, timed out, cancelled, gone) is an answer,
// not an error; an error (the server unreachable) is retried.
func RollbackOutcome(c client.Client, beat time.Duration) func(context.Context, workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
	if beat <= 0 {
		beat = 15 * time.Second
	}
	return func(ctx context.Context, in workflows.RollbackOutcomeInput) (workflows.RollbackOutcome, error) {
		// A stopping worker gives the wait up at once (Temporal retries it
		// elsewhere) rather than holding the shutdown for
		// WorkerStopTimeout.
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stopping := make(chan struct{})
		go func() {
			t := time.NewTicker(beat)
			defer t.Stop()
			for {
				select {
				case <-wctx.Done():
					return
				case <-activity.GetWorkerStopChannel(ctx):
					close(stopping)
					cancel()
					return
				case <-t.C:
					activity.RecordHeartbeat(ctx)
				}
			}
		}()
		var res []workflows.UndoResult
		err := c.GetWorkflow(wctx, in.WorkflowID, in.RunID).Get(wctx, &res)
		select {
		case <-stopping:
			return workflows.RollbackOutcome{}, fmt.Errorf("waiting for %s (run %s): the worker is stopping; retried", in.WorkflowID, in.RunID)
		default:
		}
		var (
			wee *temporal.WorkflowExecutionError
			ae  *temporal.ApplicationError
			nf  *serviceerror.NotFound
		)
		switch {
		case err == nil:
			return workflows.RollbackOutcome{Completed: true, Undo: res}, nil
		case errors.As(err, &wee) && errors.As(err, &ae) && ae.Type() == workflows.ErrRollbackFailed:
			out := workflows.RollbackOutcome{Error: ae.Message()}
			if ae.HasDetails() {
				if derr := ae.Details(&out.Undo); derr != nil {
					out.Error += "; its undo results cannot be read: " + derr.Error()
				}
			}
			return out, nil
		case errors.As(err, &wee):
			why := wee.Error()
			if cause := wee.Unwrap(); cause != nil {
				why = cause.Error() // "terminated", "timeout", the refusal
			}
			return workflows.RollbackOutcome{Error: why}, nil
		case errors.As(err, &nf):
			return workflows.RollbackOutcome{Error: fmt.Sprintf("rollback run %s of %s not found", in.RunID, in.WorkflowID)}, nil
		default:
			return workflows.RollbackOutcome{}, fmt.Errorf("waiting for %s (run %s): %w", in.WorkflowID, in.RunID, err)
		}
	}
}
