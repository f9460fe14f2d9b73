package system

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/codec"
)

// TestWorkerStopLetsActivitiesInFlightFinish: docs/operations.md says "A
// SIGTERMed worker finishes its current tasks", and deploy/kubernetes gives
// the pod 60 s to do it. riposte worker's SIGTERM ends in System.Close,
// which stops the SDK worker; with the SDK's default WorkerStopTimeout (0)
// that cancels the context of every activity in flight at once, so a vendor
// call half-way through is aborted instead of finished.
func TestWorkerStopLetsActivitiesInFlightFinish(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	dir := t.TempDir()
	keys, _, err := codec.EnsureDevKeyring(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var finished, canceled atomic.Bool
	slow := func(ctx context.Context) error {
		close(started)
		select {
		case <-time.After(2 * time.Second): // a vendor call that takes a while
			finished.Store(true)
			return nil
		case <-ctx.Done():
			canceled.Store(true)
			return ctx.Err()
		}
	}
	wf := func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
		return workflow.ExecuteActivity(ctx, "ShutdownProbe").Get(ctx, nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sys, err := Start(ctx, Options{
		Keys:     keys,
		Slack:    SlackOff,
		Embedded: &EmbeddedOptions{DataDir: filepath.Join(dir, "data"), UIPort: -1, HTTPPort: -1},
		Worker: &WorkerOptions{Lab: LabAlways, Policy: filepath.Join(dir, "none.yaml"),
			Register: func(w worker.Worker) {
				w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "ShutdownProbeWorkflow"})
				w.RegisterActivityWithOptions(slow, activity.RegisterOptions{Name: "ShutdownProbe"})
			}},
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			sys.Close()
		}
	}()
	if _, err := sys.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "shutdown-probe", TaskQueue: sys.Temporal.TaskQueue},
		"ShutdownProbeWorkflow"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the activity never started")
	}
	// What SIGTERM does in riposte worker: the context ends, then Close.
	cancel()
	sys.Close()
	closed = true
	if canceled.Load() || !finished.Load() {
		t.Errorf("stopping the worker aborted the activity in flight (canceled=%v, finished=%v): a SIGTERMed worker must finish its current tasks (docs/operations.md)",
			canceled.Load(), finished.Load())
	}
}
