package dispatch

import (
	"context"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/workflows"
)

// unreadable is a historyClient whose reads of ended runs fail as a
// Temporal frontend does while it restarts or is overloaded (Unavailable):
// starts and signals still answer.
type unreadable struct{ *historyClient }

type failedRead struct{ client.WorkflowRun }

func (failedRead) Get(context.Context, any) error {
	return serviceerror.NewUnavailable("frontend restarting")
}

func (u unreadable) GetWorkflow(context.Context, string, string) client.WorkflowRun {
	return failedRead{}
}

func (u unreadable) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, serviceerror.NewUnavailable("frontend restarting")
}

func (u unreadable) GetWorkflowHistory(context.Context, string, string, bool, enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	return &failingIterator{}
}

type failingIterator struct{}

func (*failingIterator) HasNext() bool { return true }
func (*failingIterator) Next() (*historypb.HistoryEvent, error) {
	return nil, serviceerror.NewUnavailable("frontend restarting")
}

// A record reopening a withdrawn finding reaches the ended run's workflow
// id; whether it reopens depends on that run's result (its withdrawal's
// record time). When Temporal cannot be read (Unavailable, or the 10 s read
// timing out) the record was answered "deduplicated" with no error: the
// API answered 2xx, the producer never sent it again, and the reopened
// finding was never responded to. README: "if some cannot be started
// (Temporal unavailable) the answer is 503 with Retry-After naming them".
// A read that fails must fail the detection (503, resend), never read as
// "nothing to reopen".
func TestReopenWhenTheEndedRunCannotBeRead(t *testing.T) {
	const closedAt = int64(1763458937000)
	ctx := context.Background()
	create, _ := closeAndCreate(t)
	cl := &historyClient{}
	d, _ := withdrawnFirstDispatcher(t, workflows.LatestRev)
	d.Client = cl
	out, err := d.Dispatch(ctx, 0, withTimes(create, closedAt-60_000, 0), Options{})
	if err != nil || len(out.Matched) != 1 {
		t.Fatalf("Create: %+v, %v", out, err)
	}
	wid := out.Matched[0].WorkflowID
	cl.end(wid, &workflows.Result{Status: workflows.RunSucceeded, Outcome: workflows.OutcomeWithdrawn,
		Withdrawn: &workflows.Withdrawal{Reason: "status_id is 4 (Resolved)", RecordTime: closedAt}})

	d.Client = unreadable{cl}
	out, err = d.Dispatch(ctx, 0, withTimes(create, closedAt-60_000, closedAt+60_000), Options{})
	if err == nil && (len(out.Matched) != 1 || !out.Matched[0].Reopened) {
		t.Errorf("reopening record with Temporal's reads failing: no error and %+v (%d runs under %s): answered 2xx as deduplicated, the reopen is lost and the producer is not told to resend",
			out.Matched, len(cl.runs[wid]), wid)
	}

	// Temporal is back: the resent record reopens the finding.
	d.Client = cl
	out, err = d.Dispatch(ctx, 0, withTimes(create, closedAt-60_000, closedAt+60_000), Options{})
	if err != nil || len(out.Matched) != 1 || !out.Matched[0].Reopened {
		t.Errorf("resent: %+v, %v; want reopened", out.Matched, err)
	}
}
