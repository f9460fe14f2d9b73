package e2e

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riposte-dev/riposte/workflows"
)

// A finding its detector reopens gets a new run under the workflow id of
// the run that ended (README, Lifecycle). The rolled_back mark the API
// sent the earlier run is in that run's history, and its seal named the
// workflow id only: copied byte for byte into the new run within the
// seal's 10 minutes (anyone who may signal runs can; no key needed), it
// verified there, the new run took its hold as released by that rollback
// (whose undo results name the same step) and ended "rolled back", the
// address still blocked with no release time. The mark now names the run
// it was sealed for, and the new run refuses it.
func TestRolledBackMarkCopiedIntoReopenedRunIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	const ip = "203.0.113.61"
	record := func(modified int64, lifecycle string) string {
		return fmt.Sprintf(`{"class_uid":2004,"time":1,"severity_id":4%s,"finding_info":{"uid":"mark-copy-1","modified_time":%d},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":%q},"unmapped":{"hold_case":true}}`, lifecycle, modified, ip)
	}
	holding := func(wid string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); h.runDetail(t, wid).Status != workflows.RunHolding; time.Sleep(150 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never showed holding", wid)
			}
		}
	}
	code, r := h.submit(record(1763458937000, ""))
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-hold")
	holding(wid)
	first := h.runDetail(t, wid).RunID
	if code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`); code != 202 {
		t.Fatalf("rollback: %d %s", code, b)
	}
	if d := h.waitRun(wid, time.Minute); d.RollbackStatus != workflows.RunSucceeded {
		t.Fatalf("the first run after its rollback: %s, rollback %q", d.Status, d.RollbackStatus)
	}
	// The detector closes the finding and reopens it: a new run, same id,
	// which blocks the address again.
	if code, _ := h.submit(record(1763458997000, `,"activity_id":3,"status_id":4,"status":"Resolved"`)); code >= 300 {
		t.Fatalf("close: %d", code)
	}
	code, r = h.submit(record(1763459057000, `,"activity_id":2,"status_id":1,"status":"New"`))
	if code != 202 || !r.Detections[0].Matched[0].Reopened {
		t.Fatalf("reopen: %d %+v; want a new run", code, r)
	}
	holding(wid)
	second := h.runDetail(t, wid).RunID
	if second == first {
		t.Fatalf("the reopened finding runs under the first run %s", first)
	}

	// The mark, as the first run's history holds it, sent to the new run.
	ctx := context.Background()
	var mark *commonpb.Payloads
	for it := h.sys.Client.GetWorkflowHistory(ctx, wid, first, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT); it.HasNext(); {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.SignalRolledBack {
			mark = a.GetInput()
		}
	}
	if mark == nil {
		t.Fatal("no rolled_back mark in the first run's history")
	}
	_, err := h.sys.Client.WorkflowService().SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{
		Namespace:         "default",
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: wid, RunId: second},
		SignalName:        workflows.SignalRolledBack,
		Input:             mark,
		Identity:          "copier",
	})
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the new run to have handled it: a workflow task completed
	// after the signal.
	for deadline := time.Now().Add(30 * time.Second); !handled(t, h, wid, second); time.Sleep(150 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the new run did not handle the copied mark")
		}
	}
	d := h.runDetail(t, wid)
	if d.RunID != second || d.Status != workflows.RunHolding || d.RolledBackBy != "" || len(d.Holds) != 1 || d.Holds[0].ReleasedAt != nil {
		t.Errorf("the reopened run after the copied mark: run %s, status %s, rolled back by %q, holds %+v; want it still holding its block", d.RunID, d.Status, d.RolledBackBy, d.Holds)
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 1 {
		t.Errorf("blocked in the lab: %+v, want the reopened run's block", blocked)
	}
}

// handled reports whether run rid of wid completed a workflow task after
// its last signal.
func handled(t *testing.T, h *devHarness, wid, rid string) bool {
	t.Helper()
	var events []*historypb.HistoryEvent
	for it := h.sys.Client.GetWorkflowHistory(context.Background(), wid, rid, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT); it.HasNext(); {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	signalled := -1
	for i, ev := range events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			signalled = i
		}
	}
	for _, ev := range events[signalled+1:] {
		if signalled >= 0 && ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			return true
		}
	}
	return false
}
