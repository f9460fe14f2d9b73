package telemetry

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// WorkerInterceptorOptions configures NewWorkerInterceptor.
type WorkerInterceptorOptions struct {
	// Metrics receives the activity-side metrics (step durations,
	// containment outcomes). Nil: no activity-side metrics; logging context
	// is still added.
	Metrics *Metrics
	// Catalog tells which activities are actions and their risk. Activities
	// it does not list (approval messages, policy checks) are not counted
	// as steps. Nil: every activity counts as a step, none as containment.
	Catalog *catalog.Catalog
	// IsPlaybookRun tells the workflow types whose runs are counted in
	// riposte_runs_finished_total (workflows.IsPlaybookWorkflowType: the
	// names live there, and workflow code imports telemetry, not the other
	// way round). Nil: no run is counted.
	IsPlaybookRun func(workflowType string) bool
	// PlaybookAttribute is the keyword search attribute holding the
	// playbook name (workflows.SAPlaybookName).
	PlaybookAttribute string
	// ApprovalRequestActivity is the activity type that posts approval
	// requests (workflows.ActivityOpenGate), counted in
	// riposte_approval_requests_total. Empty: not counted.
	ApprovalRequestActivity string
}

// ApprovalPost is what the approval request activity returns
// (workflows.GateOpened): whether the request was posted anywhere.
type ApprovalPost interface{ ApprovalPosted() bool }

// NewWorkerInterceptor returns the worker interceptor that records
// Riposte's worker-side metrics and adds the step to activity loggers:
//
//   - every action attempt: riposte_step_duration_seconds{action,status}
//     and, for contain-risk actions, riposte_containment_actions_total
//     {action,outcome} (outcome "simulated" for dry runs and shadow runs);
//   - every attempt to post an approval request:
//     riposte_approval_requests_total{result};
//   - every run of the playbook workflow that returns:
//     riposte_runs_finished_total{playbook,status}, emitted through the
//     replay-safe workflow metrics handler (so also needs
//     Metrics.TemporalHandler on the client);
//   - activity.GetLogger(ctx) gains step (and index inside for_each), next
//     to the SDK's WorkflowID, RunID and ActivityType; the context passed to
//     the activity carries workflow_id, run_id, step and action for loggers
//     built by NewLogger (logger.InfoContext(ctx, ...)).
//
// Set it in worker.Options.Interceptors.
func NewWorkerInterceptor(opts WorkerInterceptorOptions) interceptor.WorkerInterceptor {
	if opts.IsPlaybookRun == nil {
		opts.IsPlaybookRun = func(string) bool { return false }
	}
	return &workerInterceptor{opts: opts, playbookKey: temporal.NewSearchAttributeKeyKeyword(opts.PlaybookAttribute)}
}

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
	opts        WorkerInterceptorOptions
	playbookKey temporal.SearchAttributeKeyKeyword
}

func (w *workerInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &activityInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, w: w}
}

func (w *workerInterceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &workflowInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, w: w}
}

type activityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	w *workerInterceptor
}

func (a *activityInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return a.Next.Init(&activityOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}})
}

func (a *activityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	name := catalog.ActionOfActivity(info.ActivityType.Name)
	f := ActivityFields{
		WorkflowID: info.WorkflowExecution.ID,
		RunID:      info.WorkflowExecution.RunID,
		Action:     name,
		Attempt:    int(info.Attempt),
		Index:      -1,
	}
	call := callArg(in.Args)
	if call != nil {
		f.Step, f.Index = call.StepID, call.Index
	}
	ctx = ContextWithActivity(ctx, f)

	var action *catalog.Action
	isStep := true
	if cat := a.w.opts.Catalog; cat != nil {
		action, isStep = cat.Lookup(name)
	}
	// Local activities count too: short steps run as local activities
	// (workflows.LocalStep) and are still steps; the engine's own local
	// activities (guardrail checks) are not in the catalog.
	if info.ActivityType.Name == a.w.opts.ApprovalRequestActivity && a.w.opts.Metrics != nil {
		res, err := a.Next.ExecuteActivity(ctx, in)
		result := ApprovalFailed
		if err == nil {
			result = ApprovalPosted
			if p, ok := res.(ApprovalPost); ok && !p.ApprovalPosted() {
				result = ApprovalNotConfigured
			}
		}
		a.w.opts.Metrics.ApprovalRequest(result)
		return res, err
	}
	if !isStep || a.w.opts.Metrics == nil {
		return a.Next.ExecuteActivity(ctx, in)
	}
	m := a.w.opts.Metrics
	// The next step a local call runs ahead (catalog.Ahead) is an attempt
	// of its own action, and the call's own attempt ends before it.
	ahead := &runAhead{m: m}
	ctx = context.WithValue(ctx, runAheadKey{}, ahead)
	start := time.Now()
	res, err := a.Next.ExecuteActivity(ctx, in)
	status := attemptStatus(ctx, err)
	d := time.Since(start)
	if ahead.ownSet {
		d = ahead.own
	}
	m.StepFinished(name, status, d)
	if action != nil && action.Risk == catalog.RiskContain {
		outcome := status
		if err == nil && call != nil && call.DryRun {
			outcome = OutcomeSimulated
		}
		m.ContainmentAction(name, outcome)
	}
	return res, err
}

type runAheadKey struct{}

// runAhead is what an action call that runs the next step ahead tells the
// interceptor.
type runAhead struct {
	m      *Metrics
	own    time.Duration
	ownSet bool
}

// RecordStepRunAhead counts an attempt of the next step that an action's
// local call ran ahead (catalog.Ahead), in riposte_step_duration_seconds
// like every attempt. ctx is the call's activity context.
func RecordStepRunAhead(ctx context.Context, action, status string, d time.Duration) {
	if a, ok := ctx.Value(runAheadKey{}).(*runAhead); ok {
		a.m.StepFinished(action, status, d)
	}
}

// RecordOwnDuration says how long the call's own action took when the
// call runs the next step too: its attempt's duration without the next
// step's.
func RecordOwnDuration(ctx context.Context, d time.Duration) {
	if a, ok := ctx.Value(runAheadKey{}).(*runAhead); ok {
		a.own, a.ownSet = d, true
	}
}

// callArg finds the action call among an activity's arguments.
func callArg(args []any) *catalog.Call {
	if len(args) == 0 {
		return nil
	}
	switch c := args[0].(type) {
	case catalog.Call:
		return &c
	case *catalog.Call:
		return c
	}
	return nil
}

// attemptStatus classifies an attempt's outcome.
func attemptStatus(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return playbook.StatusSucceeded
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return playbook.StatusTimedOut
	case temporal.IsCanceledError(err) || errors.Is(err, context.Canceled):
		return playbook.StatusCanceled
	default:
		return playbook.StatusFailed
	}
}

type activityOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
}

// GetLogger adds the step (and for_each index) to the SDK's activity logger.
func (a *activityOutbound) GetLogger(ctx context.Context) log.Logger {
	l := a.Next.GetLogger(ctx)
	f, ok := ActivityFromContext(ctx)
	if !ok || f.Step == "" {
		return l
	}
	if f.Index >= 0 {
		return log.With(l, "step", f.Step, "index", f.Index)
	}
	return log.With(l, "step", f.Step)
}

// recordsWithdrawal is the run result of a run started with a withdrawn
// finding (workflows.Result; workflows imports telemetry, not the other
// way round).
type recordsWithdrawal interface{ RecordsWithdrawal() bool }

type workflowInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	w *workerInterceptor
}

// ExecuteWorkflow counts the playbook run's end through the replay-safe
// metrics handler.
func (wi *workflowInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	res, err := wi.Next.ExecuteWorkflow(ctx, in)
	if name := workflow.GetInfo(ctx).WorkflowType.Name; !wi.w.opts.IsPlaybookRun(name) {
		return res, err
	}
	if r, ok := res.(recordsWithdrawal); ok && err == nil && r.RecordsWithdrawal() {
		// A run that only records a withdrawal ran nothing: the intake
		// counted it as a withdrawal recorded, not as a run started.
		return res, err
	}
	status := playbook.StatusSucceeded
	var canceled *temporal.CanceledError
	switch {
	case errors.As(err, &canceled) || errors.Is(ctx.Err(), workflow.ErrCanceled):
		// Cancelled (Temporal UI, temporal workflow cancel): the
		// interpreter handles the cancellation and returns its result
		// with no error, which Temporal records as Completed; the run was
		// still cancelled, not a success.
		status = playbook.StatusCanceled
	case err != nil:
		status = playbook.StatusFailed
	}
	pb, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(wi.w.playbookKey)
	RecordRunFinished(ctx, pb, status)
	return res, err
}
