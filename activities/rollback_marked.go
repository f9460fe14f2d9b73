package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/workflows"
)

// RegisterRollbackMarked registers workflows.ActivityRollbackMarked, which
// reads runs through c.
func RegisterRollbackMarked(w worker.ActivityRegistry, c client.Client) {
	w.RegisterActivityWithOptions(RollbackMarked(c), activity.RegisterOptions{Name: workflows.ActivityRollbackMarked})
}

// markSlack is how much earlier than the rollback's start a mark may be
// recorded and still count as its own: the run records the time of the
// workflow task that took the mark, which Temporal sets after the
// rollback's start (the mark is sent once the start is answered); the
// slack only absorbs a search attribute stored at a coarser precision.
const markSlack = time.Second

// RollbackMarked answers workflows.ActivityRollbackMarked. A run that
// still runs, or continued as a new run, must have taken a rolled_back
// mark since the rollback started (its RolledBackAt search attribute, set
// by the run when it takes a mark): else it does not know of the rollback,
// and the containment the rollback would lift is still held, by it or by
// the run it continued as. A run that ended otherwise hands nothing over:
// the rollback may begin, as before. An error reading the run is returned
// (retried; the rollback is refused once the retries are spent).
func RollbackMarked(c client.Client) func(context.Context, workflows.RollbackMarkedInput) (workflows.RollbackMarked, error) {
	return func(ctx context.Context, in workflows.RollbackMarkedInput) (workflows.RollbackMarked, error) {
		desc, err := c.DescribeWorkflowExecution(ctx, in.WorkflowID, in.RunID)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return workflows.RollbackMarked{Refusal: fmt.Sprintf("run %s of %s cannot be found", in.RunID, in.WorkflowID)}, nil
		}
		if err != nil {
			return workflows.RollbackMarked{}, err
		}
		info := desc.GetWorkflowExecutionInfo()
		st := info.GetStatus()
		if st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && st != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			return workflows.RollbackMarked{}, nil
		}
		var at time.Time
		if p, ok := info.GetSearchAttributes().GetIndexedFields()[workflows.SARolledBackAt.GetName()]; ok {
			_ = converter.GetDefaultDataConverter().FromPayload(p, &at)
		}
		if !at.IsZero() && !at.Before(in.Since.Add(-markSlack)) {
			return workflows.RollbackMarked{}, nil
		}
		if st == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			return workflows.RollbackMarked{Refusal: fmt.Sprintf("run %s of %s continued as a new run (its finding reopened) before it took this rollback's mark, handing over what it held", in.RunID, in.WorkflowID)}, nil
		}
		return workflows.RollbackMarked{Refusal: fmt.Sprintf("run %s of %s has not taken this rollback's mark (the request that started the rollback ended before marking it, or the mark was refused): it would not know its containment lifted, and may still hand it over to a new run", in.RunID, in.WorkflowID)}, nil
	}
}
