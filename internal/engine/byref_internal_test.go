package engine

import (
	"context"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
)

type countingQueue struct{ calls int }

func (q *countingQueue) DescribeTaskQueue(context.Context, string, enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error) {
	q.calls++
	return &workflowservice.DescribeTaskQueueResponse{Pollers: []*taskqueuepb.PollerInfo{{Identity: "1@host@riposte " + ByReferenceMarker}}}, nil
}

// serve asks the server which workers poll again every 2 s (README,
// "Playbook by reference"): an answer is kept until then, and TTL
// replaces the 2 s.
func TestWorkersByReferenceTTL(t *testing.T) {
	for _, tc := range []struct {
		ttl, keeps time.Duration
	}{
		{0, 2 * time.Second},
		{500 * time.Millisecond, 500 * time.Millisecond},
	} {
		q := &countingQueue{}
		now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
		w := &WorkersByReference{Client: q, TaskQueue: "riposte", TTL: tc.ttl, now: func() time.Time { return now }}
		w.Rev(context.Background())
		now = now.Add(tc.keeps - time.Millisecond)
		w.Rev(context.Background())
		if q.calls != 1 {
			t.Errorf("TTL %s: %d calls within %s, want 1 (kept)", tc.ttl, q.calls, tc.keeps)
		}
		now = now.Add(time.Millisecond)
		w.Rev(context.Background())
		if q.calls != 2 {
			t.Errorf("TTL %s: %d calls once %s passed, want 2 (asked again)", tc.ttl, q.calls, tc.keeps)
		}
	}
}
