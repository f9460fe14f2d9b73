package workflows_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/workflows"
)

// The Temporal UI shows a waiting gate by its timer's summary. For a gate
// whose request could not be posted, on_timeout: approve will not apply
// (the gate times out, nothing contained), yet the summary says "(then
// approve)": an operator reading the UI expects the host to be contained
// at the deadline, and nothing tells them that nobody was asked.
func TestUnaskedGateTimerDoesNotSayThenApprove(t *testing.T) {
	open := func(context.Context, workflows.GateRequest) (workflows.GateOpened, error) {
		return workflows.GateOpened{}, temporal.NewNonRetryableApplicationError("slack chat.postMessage: channel_not_found", "SlackChannelNotFound", errors.New("channel_not_found"))
	}
	h, _ := gateTimeoutHarness(t, open, nil)
	sums := &timerSummaries{}
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{sums}})

	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {users: [UBOB]}, timeout: 30m, on_timeout: approve}`, 1)), det)
	if len(res.Gates) != 1 || res.Gates[0].State != workflows.GateTimedOut {
		t.Fatalf("gates %+v, want one timed out (the rule under test)", res.Gates)
	}
	sums.mu.Lock()
	defer sums.mu.Unlock()
	if len(sums.got) == 0 {
		t.Fatal("no gate timer seen")
	}
	for _, s := range sums.got {
		if strings.Contains(s, "then approve") {
			t.Errorf("gate timer summary %q: the request could not be posted, so the gate will time out, not approve", s)
		}
	}
}

// timerSummaries records the summaries of the timers workflow.AwaitWithOptions
// starts (what the Temporal UI shows for them).
type timerSummaries struct {
	interceptor.WorkerInterceptorBase
	mu  sync.Mutex
	got []string
}

func (w *timerSummaries) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &summaryInbound{root: w}
	i.Next = next
	return i
}

type summaryInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	root *timerSummaries
}

func (i *summaryInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	o := &summaryOutbound{root: i.root}
	o.Next = outbound
	return i.Next.Init(o)
}

type summaryOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	root *timerSummaries
}

func (o *summaryOutbound) AwaitWithOptions(ctx workflow.Context, opts workflow.AwaitOptions, cond func() bool) (bool, error) {
	if strings.HasPrefix(opts.TimerOptions.Summary, "approval for ") {
		o.root.mu.Lock()
		o.root.got = append(o.root.got, opts.TimerOptions.Summary)
		o.root.mu.Unlock()
	}
	return o.Next.AwaitWithOptions(ctx, opts, cond)
}
