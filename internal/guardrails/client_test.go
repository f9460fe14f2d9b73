package guardrails

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/riposte-dev/riposte/workflows"
)

// TestUpdatesStartTheGuard: Reserve and SetSafeMode send their Update to
// riposte-guard with update-with-start (the guard is started on the task
// queue when it is not running) and wait for its result; a refused start
// of SetSafeMode says what was being done.
func TestUpdatesStartTheGuard(t *testing.T) {
	ctx := context.Background()
	expect := func(c *mocks.Client, name string, arg any, err error) *mocks.WorkflowUpdateHandle {
		c.On("NewWithStartWorkflowOperation", mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
			return o.ID == workflows.GuardWorkflowID && o.TaskQueue == "tq" && o.WorkflowIDConflictPolicy == enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
		}), mock.Anything, workflows.GuardState{}).Return(nil).Once()
		h := mocks.NewWorkflowUpdateHandle(t)
		c.On("UpdateWithStartWorkflow", ctx, mock.MatchedBy(func(o client.UpdateWithStartWorkflowOptions) bool {
			u := o.UpdateOptions
			return u.WorkflowID == workflows.GuardWorkflowID && u.UpdateName == name && len(u.Args) == 1 && u.Args[0] == arg &&
				u.WaitForStage == client.WorkflowUpdateStageCompleted
		})).Return(h, err).Once()
		return h
	}

	c := mocks.NewClient(t)
	rr := workflows.ReserveRequest{Budget: "crowdstrike.contain_host", Key: "run/step", Max: 5}
	expect(c, workflows.UpdateReserve, rr, nil).On("Get", ctx, mock.Anything).Run(func(args mock.Arguments) {
		*args.Get(1).(*workflows.ReserveResult) = workflows.ReserveResult{Granted: true, Used: 1, Max: 5}
	}).Return(nil)
	if res, err := Reserve(ctx, c, "tq", rr); err != nil || !res.Granted || res.Used != 1 {
		t.Errorf("Reserve = %+v, %v", res, err)
	}

	sr := workflows.SafeModeRequest{Enabled: true, By: "U1"}
	expect(c, workflows.UpdateSafeMode, sr, nil).On("Get", ctx, mock.Anything).Run(func(args mock.Arguments) {
		*args.Get(1).(*workflows.GuardState) = workflows.GuardState{SafeMode: true}
	}).Return(nil)
	if st, err := SetSafeMode(ctx, c, "tq", sr); err != nil || !st.SafeMode {
		t.Errorf("SetSafeMode = %+v, %v", st, err)
	}

	c = mocks.NewClient(t)
	c.On("NewWithStartWorkflowOperation", mock.Anything, mock.Anything, mock.Anything).Return(nil)
	c.On("UpdateWithStartWorkflow", mock.Anything, mock.Anything).Return(nil, errors.New("unavailable"))
	if _, err := SetSafeMode(ctx, c, "tq", sr); err == nil || !strings.HasPrefix(err.Error(), "setting safe mode: unavailable") {
		t.Errorf("SetSafeMode start refused: %v", err)
	}
	if _, err := Reserve(ctx, c, "tq", rr); err == nil || err.Error() != "unavailable" {
		t.Errorf("Reserve start refused: %v", err)
	}
}
