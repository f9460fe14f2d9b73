package engine_test

import (
	"context"
	"errors"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riposte-dev/riposte/internal/engine"
)

type fakeQueue struct {
	pollers []string
	err     error
	calls   int
}

func (f *fakeQueue) DescribeTaskQueue(_ context.Context, tq string, typ enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if typ != enumspb.TASK_QUEUE_TYPE_WORKFLOW {
		return nil, errors.New("asked about the wrong task queue type")
	}
	r := &workflowservice.DescribeTaskQueueResponse{}
	for _, id := range f.pollers {
		r.Pollers = append(r.Pollers, &taskqueuepb.PollerInfo{Identity: id})
	}
	return r, nil
}

// Playbooks go by reference only when every worker polling says it loads
// them from a store: a worker of an older release (or none at all) keeps
// them inline, and so does a server that cannot be asked.
func TestWorkersByReference(t *testing.T) {
	ref := "12@host@riposte " + engine.ByReferenceMarker
	for _, tc := range []struct {
		name    string
		pollers []string
		err     error
		want    bool
	}{
		{"all new", []string{ref, ref}, nil, true},
		{"one older worker", []string{ref, "13@host@riposte"}, nil, false},
		{"no worker", nil, nil, false},
		{"server unreachable", nil, errors.New("unavailable"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeQueue{pollers: tc.pollers, err: tc.err}
			w := &engine.WorkersByReference{Client: f, TaskQueue: "riposte"}
			if got := w.ByReference(context.Background()); got != tc.want {
				t.Errorf("ByReference = %v, want %v", got, tc.want)
			}
			w.ByReference(context.Background())
			want := 1
			if tc.err != nil {
				want = 2 // failures are not cached
			}
			if f.calls != want {
				t.Errorf("%d DescribeTaskQueue calls for two answers, want %d", f.calls, want)
			}
		})
	}
}
