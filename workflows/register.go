package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register registers the interpreter on a worker (or a test environment).
func Register(w worker.WorkflowRegistry, in *Interpreter) {
	w.RegisterWorkflowWithOptions(in.Run, workflow.RegisterOptions{Name: PlaybookWorkflow})
	w.RegisterWorkflowWithOptions(Guard, workflow.RegisterOptions{Name: GuardWorkflow})
	w.RegisterWorkflowWithOptions(BudgetGuard, workflow.RegisterOptions{Name: BudgetGuardWorkflow})
	w.RegisterWorkflowWithOptions(Rollback, workflow.RegisterOptions{Name: RollbackWorkflow})
}
