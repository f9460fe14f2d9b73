package guardrails

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/mocks"

	"github.com/riposte-dev/riposte/workflows"
)

// README: GET /v1/policy and riposte policy status "list the reservations
// that count per budget" ("N used in the current window"). A guard drops
// the reservations older than its window only when the next one arrives,
// so after a burst and a quiet window the status said the budget was still
// used up (5 of 5) when none counted.
func TestStatusListsOnlyReservationsInTheWindow(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	c := mocks.NewClient(t)
	c.On("QueryWorkflow", ctx, workflows.GuardWorkflowID, "", workflows.QueryGuard).Return(nil, serviceerror.NewNotFound("no guard"))
	id := workflows.BudgetGuardID("crowdstrike.contain_host")
	c.On("ListWorkflow", ctx, mock.Anything).Return(&workflowservice.ListWorkflowExecutionsResponse{
		Executions: []*workflowpb.WorkflowExecutionInfo{{Execution: &commonpb.WorkflowExecution{WorkflowId: id}}},
	}, nil)
	v := &mocks.Value{}
	v.On("Get", mock.Anything).Run(func(args mock.Arguments) {
		*args.Get(0).(*workflows.BudgetGuardState) = workflows.BudgetGuardState{
			Budget: "crowdstrike.contain_host", Max: 2, Per: time.Hour,
			Reservations: []workflows.Reservation{
				{Key: "old/contain", At: now.Add(-3 * time.Hour)},
				{Key: "older-than-window/contain", At: now.Add(-61 * time.Minute)},
				{Key: "new/contain", At: now.Add(-10 * time.Minute)},
			},
		}
	}).Return(nil)
	c.On("QueryWorkflow", ctx, id, "", workflows.QueryBudget).Return(v, nil)
	st, err := Status(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	got := st.Budgets["crowdstrike.contain_host"]
	if len(got) != 1 || got[0].Key != "new/contain" {
		t.Errorf("reservations that count = %+v; want only new/contain (the others are older than the 1h window)", got)
	}
}
