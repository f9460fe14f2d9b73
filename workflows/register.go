package workflows

import (
	"fmt"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// RunDynamic runs a playbook started under its own workflow type (the
// playbook's name). A type that is not a playbook name, or whose input is
// not a run's, fails at once with a non-retryable error.
func (in *Interpreter) RunDynamic(ctx workflow.Context, args converter.EncodedValues) (*Result, error) {
	name := workflow.GetInfo(ctx).WorkflowType.Name
	var input Input
	if err := args.Get(&input); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("workflow type %s: input is not a playbook run's: %v", name, err), "BadInput", nil)
	}
	got := input.PlaybookName()
	if got != name || !IsPlaybookWorkflowType(name) {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("workflow type %s is not a playbook run of this worker (input names playbook %q)", name, got), "BadInput", nil)
	}
	return in.Run(ctx, input)
}

// Register registers the interpreter on a worker (or a test environment).
func Register(w worker.WorkflowRegistry, in *Interpreter) {
	w.RegisterWorkflowWithOptions(in.Run, workflow.RegisterOptions{Name: PlaybookWorkflow})
	// Every other type is a playbook run under its playbook's name.
	w.RegisterDynamicWorkflow(in.RunDynamic, workflow.DynamicRegisterOptions{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, state GuardState) error {
		return Guard(ctx, state, in.Keys)
	}, workflow.RegisterOptions{Name: GuardWorkflow})
	w.RegisterWorkflowWithOptions(BudgetGuard, workflow.RegisterOptions{Name: BudgetGuardWorkflow})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in2 RollbackInput) ([]UndoResult, error) {
		return Rollback(ctx, in2, in.Keys)
	}, workflow.RegisterOptions{Name: RollbackWorkflow})
}
