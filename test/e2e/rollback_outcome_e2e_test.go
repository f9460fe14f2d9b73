package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/workflows"
)

// The activity a rolled-back run waits with (workflows.ActivityRollbackOutcome)
// reads how the rollback run ended from Temporal itself: every end but
// success is an answer (the run then holds again what was not undone), and
// only a failure to ask is an error, which Temporal retries. The undo
// failures of a real rollback are covered by
// TestFailedRollbackIsNotShownAsRolledBack; these are the other ends.
func TestRollbackOutcomeReadsHowTheRollbackEnded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	c := h.sys.Client
	ctx := t.Context()

	// Refused by the workflow: no seal (started straight through Temporal).
	refused, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "rollback:outcome-refused", TaskQueue: h.sys.Temporal.TaskQueue},
		workflows.RollbackWorkflow, workflows.RollbackInput{WorkflowID: "outcome-refused", Requester: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	// Terminated by an operator while nobody ran it (no worker polls
	// "nobody"), and one still running when the wait is cancelled.
	stuck, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "rollback:outcome-stuck", TaskQueue: "nobody"}, workflows.RollbackWorkflow, workflows.RollbackInput{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.TerminateWorkflow(ctx, stuck.GetID(), stuck.GetRunID(), "operator ended it"); err != nil {
		t.Fatal(err)
	}
	running, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "rollback:outcome-running", TaskQueue: "nobody"}, workflows.RollbackWorkflow, workflows.RollbackInput{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = c.TerminateWorkflow(context.Background(), running.GetID(), running.GetRunID(), "test over")
	}()

	for _, tc := range []struct {
		name    string
		in      workflows.RollbackOutcomeInput
		timeout time.Duration
		stop    bool   // the worker stops while the activity waits
		want    string // in the outcome's error; "!" prefix: an error from the activity, containing the rest
	}{
		{"refused", workflows.RollbackOutcomeInput{WorkflowID: refused.GetID(), RunID: refused.GetRunID()}, 0, false, "rollback refused"},
		{"terminated", workflows.RollbackOutcomeInput{WorkflowID: stuck.GetID(), RunID: stuck.GetRunID()}, 0, false, "terminated"},
		{"not found", workflows.RollbackOutcomeInput{WorkflowID: "rollback:outcome-none", RunID: "0195e0a2-0000-7000-8000-000000000000"}, 0, false, "not found"},
		{"still running", workflows.RollbackOutcomeInput{WorkflowID: running.GetID(), RunID: running.GetRunID()}, 300 * time.Millisecond, false, "!"}, // no answer, an error: its text varies with who sees the deadline first (the test environment's StartToClose, the client's "waiting for …", gRPC's RST_STREAM under load)
		{"worker stopping", workflows.RollbackOutcomeInput{WorkflowID: running.GetID(), RunID: running.GetRunID()}, 0, true, "!the worker is stopping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			if tc.timeout > 0 {
				actx, cancel := context.WithTimeout(ctx, tc.timeout)
				defer cancel()
				env.SetWorkerOptions(worker.Options{BackgroundActivityContext: actx})
			}
			if tc.stop {
				stop := make(chan struct{})
				env.SetWorkerStopChannel(stop)
				time.AfterFunc(200*time.Millisecond, func() { close(stop) })
			}
			env.RegisterActivityWithOptions(activities.RollbackOutcome(c, 50*time.Millisecond), activity.RegisterOptions{Name: workflows.ActivityRollbackOutcome})
			v, err := env.ExecuteActivity(workflows.ActivityRollbackOutcome, tc.in)
			if strings.HasPrefix(tc.want, "!") {
				if err == nil || !strings.Contains(err.Error(), tc.want[1:]) {
					t.Fatalf("err = %v, want one containing %q (retried by Temporal)", err, tc.want[1:])
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v: an ended rollback is an answer, not an error", err)
			}
			var out workflows.RollbackOutcome
			if err := v.Get(&out); err != nil {
				t.Fatal(err)
			}
			if out.Completed || !strings.Contains(out.Error, tc.want) {
				t.Errorf("outcome %+v, want not completed, error containing %q", out, tc.want)
			}
		})
	}
}
