package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// ContainAction is the containment action of the reference playbook; its
// first activity start is the "first containment started" instant.
const ContainAction = "crowdstrike.contain_host"

// probe records, per workflow id, when the first containment activity
// started and when the run completed. It is a worker interceptor, so the
// same probe measures Riposte's interpreter and the baseline workflow.
type probe struct {
	interceptor.WorkerInterceptorBase

	mu   sync.Mutex
	runs map[string]*runTimes

	gatesOpened atomic.Int64
	completed   atomic.Int64
}

// runTimes is what the probe saw of one run.
type runTimes struct {
	containAt time.Time
	doneAt    time.Time
	failed    bool
	done      chan struct{}
}

func newProbe() *probe { return &probe{runs: map[string]*runTimes{}} }

// entry returns the record of a workflow id, creating it. Callers hold p.mu.
func (p *probe) entry(id string) *runTimes {
	r := p.runs[id]
	if r == nil {
		r = &runTimes{done: make(chan struct{})}
		p.runs[id] = r
	}
	return r
}

func (p *probe) containStarted(id string, at time.Time) {
	p.mu.Lock()
	r := p.entry(id)
	if r.containAt.IsZero() {
		r.containAt = at
	}
	p.mu.Unlock()
}

func (p *probe) runDone(id string, at time.Time, failed bool) {
	p.mu.Lock()
	r := p.entry(id)
	if r.doneAt.IsZero() {
		r.doneAt, r.failed = at, failed
		close(r.done)
		p.completed.Add(1)
	}
	p.mu.Unlock()
}

// wait blocks until the run completed (or ctx ends) and returns its record.
func (p *probe) wait(ctx context.Context, id string) (runTimes, bool) {
	p.mu.Lock()
	r := p.entry(id)
	p.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		return runTimes{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := *r
	return out, true
}

// forget drops a run's record once it has been read.
func (p *probe) forget(id string) {
	p.mu.Lock()
	delete(p.runs, id)
	p.mu.Unlock()
}

// InterceptActivity implements interceptor.WorkerInterceptor.
func (p *probe) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &activityProbe{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, p: p}
}

// InterceptWorkflow implements interceptor.WorkerInterceptor.
func (p *probe) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &workflowProbe{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, p: p}
}

type activityProbe struct {
	interceptor.ActivityInboundInterceptorBase
	p *probe
}

func (a *activityProbe) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	switch catalog.ActionOfActivity(info.ActivityType.Name) {
	case ContainAction:
		a.p.containStarted(info.WorkflowExecution.ID, time.Now())
	case workflows.ActivityOpenGate:
		out, err := a.Next.ExecuteActivity(ctx, in)
		a.p.gatesOpened.Add(1)
		return out, err
	}
	return a.Next.ExecuteActivity(ctx, in)
}

type workflowProbe struct {
	interceptor.WorkflowInboundInterceptorBase
	p *probe
}

// ExecuteWorkflow records the run's completion: the moment the workflow
// function returns in a live (not replayed) workflow task. The completion
// is committed by the response to that same task.
func (w *workflowProbe) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	out, err := w.Next.ExecuteWorkflow(ctx, in)
	info := workflow.GetInfo(ctx)
	switch name := info.WorkflowType.Name; {
	case workflows.IsPlaybookWorkflowType(name), name == BaselineWorkflow, name == BaselineParkedWorkflow:
		if !workflow.IsReplaying(ctx) {
			w.p.runDone(info.WorkflowExecution.ID, time.Now(), err != nil) //workflowcheck:ignore measurement only, not workflow state
		}
	}
	return out, err
}
