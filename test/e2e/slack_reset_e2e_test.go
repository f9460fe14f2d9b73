package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
)

// TestSlackClickOnAResetRunsMessageDecidesForTheRunThatCarriesItOn: an
// operator resets a run waiting at a Slack gate (the Temporal UI's Reset,
// to a point after the gate's message was posted). The reset's new run
// carries on the gate and its message, whose buttons name the run that
// posted them, now ended. A click on those buttons is the approver's
// decision on the same gate: it must count in the run that carries the
// message on, not be refused as a click on an ended run.
func TestSlackClickOnAResetRunsMessageDecidesForTheRunThatCarriesItOn(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wid := gatedSlackRun(ctx, t, h, fake, "slack-reset-gate-1", "gate", "e2e-gated")
	value, ts, resp := resetAfterTheMessage(ctx, t, h, fake, wid)

	// The approver clicks the message's button (naming the first run).
	if _, err := fake.PushInteractive(slackfake.BlockActionPayloadWithValue("URECORDER", value, slackapp.ActionApprove, "CSECOPS", ts)); err != nil {
		t.Fatal(err)
	}
	if d := h.waitRun(wid, time.Minute); d.Status != "succeeded" || d.RunID != resp.GetRunId() {
		t.Errorf("after the click on the carried-on message: run %s %s; want the reset's run %s approved and succeeded", d.RunID, d.Status, resp.GetRunId())
	}
	for _, e := range fake.Ephemerals() {
		if e.Params["user"] == "URECORDER" && strings.Contains(e.Params["text"], "not recorded") {
			t.Errorf("the approver was told: %q", e.Params["text"])
		}
	}
}

// resetAfterTheMessage resets the run of wid waiting at its Slack gate to
// its last completed workflow task, after the gate's message was posted,
// and waits until the reset's run waits at the gate: the message's
// approve button value (naming the first run) and ts, and the reset.
func resetAfterTheMessage(ctx context.Context, t *testing.T, h *devHarness, fake *slackfake.Server, wid string) (string, string, *workflowservice.ResetWorkflowExecutionResponse) {
	t.Helper()

	// The gate's message as posted: its approve button's value and ts.
	var first, ts string
	if err := fake.WaitFor(ctx, func() bool {
		d := h.waitOrState(wid)
		first = d.RunID
		for _, st := range d.Steps {
			if st.ID == "approve" && st.Gate != nil {
				ts = st.Gate.MessageTS
			}
		}
		return ts != "" && approveValue(fake) != ""
	}); err != nil {
		t.Fatalf("the gate's message was not posted: %v", err)
	}
	value := approveValue(fake)
	if ref, err := slackapp.ParseGateRef(value); err != nil || ref.RunID != first {
		t.Fatalf("the posted button names %+v (%v); want the run that posted it, %s", ref, err, first)
	}

	// Reset to the last completed workflow task: after the message.
	c := h.sys.Client
	var point int64
	it := c.GetWorkflowHistory(ctx, wid, first, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			point = ev.GetEventId()
		}
	}
	resp, err := c.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 h.sys.Temporal.Namespace,
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: wid, RunId: first},
		Reason:                    "operator reset while waiting for approval",
		WorkflowTaskFinishEventId: point,
		RequestId:                 fmt.Sprintf("reset-%d", time.Now().UnixNano()),
	})
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	if err := fake.WaitFor(ctx, func() bool { return h.waitOrState(wid).RunID == resp.GetRunId() }); err != nil {
		t.Fatalf("the reset's run %s does not run: %v", resp.GetRunId(), err)
	}
	h.waitStep(wid, "approve", "waiting_approval")

	return value, ts, resp
}

// approveValue is the value of the approve button of the last message
// posted or updated with one.
func approveValue(fake *slackfake.Server) string {
	value := ""
	for _, c := range fake.Calls() {
		for _, b := range c.Blocks {
			els, _ := b["elements"].([]any)
			for _, e := range els {
				if m, _ := e.(map[string]any); m["action_id"] == slackapp.ActionApprove {
					value, _ = m["value"].(string)
				}
			}
		}
	}
	return value
}

// TestDecisionForARunResetToBeforeItsGateIsRefused: an operator resets a
// run waiting at a Slack gate to its first workflow task (the Temporal
// UI's "Reset to first workflow task"), before the gate: the reset's run
// runs its steps again, opens the gate again and posts its own request
// (its targets may differ: its steps ran again). A decision given for the
// first run's gate (the API's run_id, the CLI's --run-id, as GET
// /v1/approvals listed it) is for a request the reset's run does not carry
// on: it must be refused (409), not counted as a vote on the new request,
// which nobody has looked at yet.
func TestDecisionForARunResetToBeforeItsGateIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wid := gatedSlackRun(ctx, t, h, fake, "slack-reset-before-gate-1", "gate", "e2e-gated")
	first := h.waitOrState(wid).RunID
	if _, err := fake.WaitCalls(ctx, "chat.postMessage", 1); err != nil {
		t.Fatalf("the gate's message was not posted: %v", err)
	}

	c := h.sys.Client
	resp, err := c.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 h.sys.Temporal.Namespace,
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: wid, RunId: first},
		Reason:                    "operator reset to the first workflow task",
		WorkflowTaskFinishEventId: firstTaskDone(t, c, wid, first),
		RequestId:                 fmt.Sprintf("reset-%d", time.Now().UnixNano()),
	})
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	// The reset's run opens the gate again and posts its own request.
	if _, err := fake.WaitCalls(ctx, "chat.postMessage", 2); err != nil {
		t.Fatalf("the reset's run posted no request of its own: %v", err)
	}
	if d := h.waitStep(wid, "approve", "waiting_approval"); d.RunID != resp.GetRunId() {
		t.Fatalf("run %s waits at the gate; want the reset's run %s", d.RunID, resp.GetRunId())
	}

	body := fmt.Sprintf(`{"step":"approve","decision":"approve","run_id":%q}`, first)
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/approvals", h.tokenFor("URECORDER"), body)
	if code != 409 {
		t.Errorf("approve with run_id %s (reset to before its gate): %d %s; want 409", first, code, b)
	}
	if st := gateState(t, h, wid); st != "pending" {
		t.Errorf("the reset run's gate is %q after a decision given for the first run's: want pending", st)
	}
}

// TestSlackResendOfAClickOnAResetRunsMessageAfterItEnded: the click on a
// reset run's carried-on message (its buttons name the run reset from)
// approved the gate in the reset's run, which then ended; Slack, which did
// not see the ack, sends the click again, to another replica. That is the
// click already recorded, in the run that carries the message on: its
// author must not be told it was "not recorded" because the run the
// buttons name has ended (Temporal holds the Update's outcome on the
// reset's run, not on the run its buttons name).
func TestSlackResendOfAClickOnAResetRunsMessageAfterItEnded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wid := gatedSlackRun(ctx, t, h, fake, "slack-reset-resend-1", "gate", "e2e-gated")
	value, ts, resp := resetAfterTheMessage(ctx, t, h, fake, wid)

	env, err := fake.PushInteractive(slackfake.BlockActionPayloadWithValue("URECORDER", value, slackapp.ActionApprove, "CSECOPS", ts))
	if err != nil {
		t.Fatal(err)
	}
	if d := h.waitRun(wid, time.Minute); d.Status != "succeeded" || d.RunID != resp.GetRunId() {
		t.Fatalf("after the click on the carried-on message: run %s %s; want the reset's run %s succeeded", d.RunID, d.Status, resp.GetRunId())
	}
	replicaB(ctx, t, h, fake)
	if err := fake.Redeliver(env, "timeout"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	for _, e := range fake.Ephemerals() {
		if e.Params["user"] == "URECORDER" && strings.Contains(e.Params["text"], "not recorded") {
			t.Errorf("the person whose approval was recorded, and ran, was told after Slack resent the click: %q", e.Params["text"])
		}
	}
}
