package system

import (
	"context"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// priorCall answers activities.Env.PriorCall from the history of the run a
// reset run was reset from: whether that run made the same call (step,
// index, action; its checked activity type counts) and it completed
// without finding its containment already in place. A call that never
// completed there (failed, timed out, in flight at the reset) is false:
// no answer says it applied anything.
func priorCall(c client.Client, dc converter.DataConverter) func(context.Context, catalog.Call) (bool, error) {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	return func(ctx context.Context, call catalog.Call) (bool, error) {
		it := c.GetWorkflowHistory(ctx, call.WorkflowID, call.ResetFrom, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		scheduled := map[int64]bool{}
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return false, fmt.Errorf("reading run %s of %s: %w", call.ResetFrom, call.WorkflowID, err)
			}
			if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
				if strings.TrimSuffix(a.GetActivityType().GetName(), catalog.CheckedSuffix) != call.Action {
					continue
				}
				var earlier catalog.Call
				if err := dc.FromPayloads(a.GetInput(), &earlier); err != nil {
					return false, fmt.Errorf("reading the input of %s in run %s: %w", call.Action, call.ResetFrom, err)
				}
				if earlier.StepID == call.StepID && earlier.Index == call.Index {
					scheduled[e.GetEventId()] = true
				}
				continue
			}
			if a := e.GetActivityTaskCompletedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] {
				var out map[string]any
				if err := dc.FromPayloads(a.GetResult(), &out); err != nil {
					return false, fmt.Errorf("reading the result of %s in run %s: %w", call.Action, call.ResetFrom, err)
				}
				pre, _ := out[catalog.OutputPreexisting].(bool)
				return !pre, nil
			}
		}
		return false, nil
	}
}
