package dispatch

import (
	"context"
	"errors"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/workflows"
)

// queueOf answers DescribeTaskQueue as the server does: the pollers seen,
// or an error.
type queueOf struct {
	pollers []string
	err     error
}

func (q *queueOf) DescribeTaskQueue(context.Context, string, enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error) {
	if q.err != nil {
		return nil, q.err
	}
	r := &workflowservice.DescribeTaskQueueResponse{}
	for _, id := range q.pollers {
		r.Pollers = append(r.Pollers, &taskqueuepb.PollerInfo{Identity: id})
	}
	return r, nil
}

// riposte serve (workers in other processes) reads the revision runs ask
// for from the task queue's pollers (engine.WorkersByReference.Rev), which
// answers 0 when no worker polls (workers restarting, serve started before
// them) or the server cannot be asked. A Close arriving then, before any
// record of its finding started a run, was answered 2xx "nothing started"
// and recorded nowhere, as if a worker of an older release polled: the
// late Create then started the response for the closed finding, and the
// producer was never told to resend the Close. Not knowing the workers is
// not knowing they are old: the Close must be recorded later (a 503 the
// producer retries), never dropped with a 2xx. With a worker of an older
// release really polling, nothing is recorded (README: only while every
// worker runs revision 7).
func TestCloseFirstWhileNoWorkerIsKnown(t *testing.T) {
	ctx := context.Background()
	create, closed := closeAndCreate(t)
	latest := engine.WorkerIdentity("14@host@riposte", true)
	for _, tc := range []struct {
		name    string
		queue   *queueOf
		dropped bool // the documented case: an older worker polls
	}{
		{"no worker polls", &queueOf{}, false},
		{"the server cannot be asked", &queueOf{err: serviceerror.NewUnavailable("frontend restarting")}, false},
		{"a worker of an older release polls", &queueOf{pollers: []string{latest, "13@host@riposte"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, cl := withdrawnFirstDispatcher(t, workflows.LatestRev)
			d.Rev = (&engine.WorkersByReference{Client: tc.queue, TaskQueue: "q"}).Rev // as serve wires it
			out, err := d.Dispatch(ctx, 0, closed, Options{})
			switch {
			case tc.dropped:
				if err != nil || len(out.Recorded) != 0 {
					t.Errorf("%+v, %v; want nothing recorded", out, err)
				}
				return
			case err == nil && len(out.Recorded) == 0:
				t.Fatalf("Close first with no worker known: no error and nothing recorded (%+v): answered 2xx, the Close is lost", out)
			}
			if err != nil {
				if errors.As(err, new(*serviceerror.InvalidArgument)) {
					t.Errorf("error %v reads as Temporal refusing the detection (400, never resent)", err)
				}
				// Resent once a worker of this release polls: recorded, and
				// the late Create starts nothing.
				tc.queue.pollers, tc.queue.err = []string{latest}, nil
				d.Rev = (&engine.WorkersByReference{Client: tc.queue, TaskQueue: "q"}).Rev
				if out, err = d.Dispatch(ctx, 0, closed, Options{}); err != nil || len(out.Recorded) != 1 {
					t.Fatalf("resent: %+v, %v", out, err)
				}
			}
			cl.end(out.Recorded[0].WorkflowID)
			if out, err := d.Dispatch(ctx, 0, create, Options{}); err != nil || len(out.Matched) != 1 || !out.Matched[0].Deduplicated {
				t.Errorf("late Create: %+v, %v; want it deduplicated to the recorded Close", out, err)
			}
		})
	}
}

// A Close its running run took (signalled) needs no record: it is
// dispatched whether or not a worker is known.
func TestCloseOfRunningRunWhileNoWorkerIsKnown(t *testing.T) {
	ctx := context.Background()
	create, closed := closeAndCreate(t)
	d, _ := withdrawnFirstDispatcher(t, workflows.LatestRev)
	if out, err := d.Dispatch(ctx, 0, create, Options{}); err != nil || len(out.Matched) != 1 {
		t.Fatalf("Create: %+v, %v", out, err)
	}
	d.Rev = (&engine.WorkersByReference{Client: &queueOf{}, TaskQueue: "q"}).Rev
	if out, err := d.Dispatch(ctx, 0, closed, Options{}); err != nil || len(out.Signalled) != 1 {
		t.Errorf("Close of a running run, no worker known: %+v, %v; want it signalled, no error", out, err)
	}
}
