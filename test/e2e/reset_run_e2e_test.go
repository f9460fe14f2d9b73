package e2e

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// A run reset from the Temporal UI or `temporal workflow reset` to before
// a contain step (reset to its first workflow task: an operator recovering
// a stuck run) runs the step again in a new run. The reset terminates the
// old run, whose contain_for timer then never fires. The new run's call
// finds the block the old run applied; it used to mark it `preexisting`
// ("someone else applied it": README, Undo), so the new run did not hold
// it either and `riposte rollback` answered 409 "already in place before
// it": the run's own containment was orphaned. The run knows it was reset
// (workflow.GetInfo(ctx).OriginalRunID differs from its RunID) and names
// that run in the call (catalog.Call.ResetFrom); the worker reads its
// history, finds the block applied by the same step there, and the block
// is the run's own, held and undone.
func TestResetRunKeepsItsOwnContainment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"reset-hold-1"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.91"},"unmapped":{"hold_case":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-hold")
	var first string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(150 * time.Millisecond) {
		if d := h.runDetail(t, wid); d.Status == workflows.RunHolding {
			first = d.RunID
			if d.ResetFrom != nil || d.ResetTo != "" {
				t.Errorf("a run never reset shows reset_from %+v, reset_to %q", d.ResetFrom, d.ResetTo)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hold run never showed holding")
		}
	}
	point := firstTaskDone(t, c, wid, first)
	d := resetToFirstTask(t, h, c, wid, first)
	// The run view says the run was reset, from which run, at which event
	// and why; the run it was reset from names the run that carries on.
	if want := (api.ResetFrom{RunID: first, EventID: point, Reason: "operator reset to the first workflow task"}); d.ResetFrom == nil || *d.ResetFrom != want {
		t.Errorf("reset run: reset_from %+v, want %+v", d.ResetFrom, want)
	}
	if d.ResetTo != "" {
		t.Errorf("reset run: reset_to %q, want none (it was not reset itself)", d.ResetTo)
	}
	old := h.runDetailOf(t, wid, first)
	if old.ResetTo != d.RunID || old.ResetFrom != nil {
		t.Errorf("run reset from: reset_to %q, reset_from %+v; want reset_to %s (the run the reset started), no reset_from", old.ResetTo, old.ResetFrom, d.RunID)
	}
	out, _ := d.Steps[0].Output.(map[string]any)
	t.Logf("reset run: status %s, block %s, output %v, holds %+v", d.Status, d.Steps[0].Status, out, d.Holds)
	if pre, _ := out[catalog.OutputPreexisting].(bool); pre {
		t.Errorf("the reset run's block is marked preexisting: the block its own earlier run applied is taken for someone else's")
	}
	if len(d.Holds) != 1 {
		t.Errorf("reset run holds %+v: want the block held for its contain_for (the old run's timer died with the reset)", d.Holds)
	}
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("USOC"), `{}`)
	if code != 202 && code != 200 {
		t.Errorf("rollback of the reset run: %d %s; want it to undo the block the run applied", code, b)
	}
}

// resetToFirstTask resets run rid of wid to its first workflow task, as
// the Temporal UI's Reset does, and waits until the new run has ended its
// one step.
func resetToFirstTask(t *testing.T, h *devHarness, c client.Client, wid, rid string) workflowsDetail {
	t.Helper()
	return resetToFirstTaskExcluding(t, h, c, wid, rid)
}

// resetToFirstTaskExcluding is resetToFirstTask with events the reset does
// not reapply (the UI's "reapply signals" box unticked:
// RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL).
func resetToFirstTaskExcluding(t *testing.T, h *devHarness, c client.Client, wid, rid string, exclude ...enumspb.ResetReapplyExcludeType) workflowsDetail {
	t.Helper()
	taskDone := firstTaskDone(t, c, wid, rid)
	resp, err := c.ResetWorkflowExecution(t.Context(), &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 "default",
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: wid, RunId: rid},
		Reason:                    "operator reset to the first workflow task",
		WorkflowTaskFinishEventId: taskDone,
		ResetReapplyExcludeTypes:  exclude,
		RequestId:                 fmt.Sprintf("reset-%d", time.Now().UnixNano()),
	})
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(150 * time.Millisecond) {
		d := h.runDetail(t, wid)
		if d.RunID == resp.GetRunId() && len(d.Steps) == 1 && d.Steps[0].EndedAt != nil {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reset run %s never ended its block step: %+v", resp.GetRunId(), d)
		}
	}
}

// firstTaskDone is the event id of run rid's first completed workflow
// task: the reset point resetToFirstTask asks for.
func firstTaskDone(t *testing.T, c client.Client, wid, rid string) int64 {
	t.Helper()
	it := c.GetWorkflowHistory(t.Context(), wid, rid, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			return ev.GetEventId()
		}
	}
	t.Fatalf("run %s of %s has no completed workflow task", rid, wid)
	return 0
}
