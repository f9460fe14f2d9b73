package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

// A run cancelled from the Temporal UI or tctl ends at once (README,
// Holds). Its code still runs at that end: it records the run as
// canceled, and its approval messages in Slack say how the run ended, as
// for any other end. Before, those last updates were scheduled on the
// cancelled context and never ran: a message kept "Holding … unless
// extended" with the command to extend a hold no code would release, or
// live Approve/Deny buttons for a gate no decision could reach, and the
// API read the run as succeeded. With -record the runs' histories are
// saved for the replay guard.

// slackText is the text of a Slack call's blocks, one line per block.
func slackText(c slackfake.Call) string {
	var sb strings.Builder
	for _, b := range c.Blocks {
		if txt, ok := b["text"].(map[string]any); ok {
			s, _ := txt["text"].(string)
			sb.WriteString(s + "\n")
		}
	}
	return sb.String()
}

// lastApprovalUpdate is the text of the last chat.update of the approval
// channel, and whether it still has buttons.
func lastApprovalUpdate(fake *slackfake.Server) (string, bool) {
	text, buttons := "", false
	for _, u := range fake.Updates() {
		if u.Params["channel"] != "CSECOPS" {
			continue
		}
		text, buttons = slackText(u), false
		for _, b := range u.Blocks {
			if b["block_id"] == slackapp.BlockButtons || b["type"] == "actions" {
				buttons = true
			}
		}
	}
	return text, buttons
}

// cancelRun cancels a run as the Temporal UI's Cancel does, waits for its
// end and, with -record, saves its history as name.
func cancelRun(t *testing.T, h *devHarness, wid, name string) api.RunDetail {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.CancelWorkflow(t.Context(), wid, ""); err != nil {
		t.Fatal(err)
	}
	d := h.waitRun(wid, time.Minute)
	if *record {
		saveHistory(t, c, wid, d.RunID, *recordPrefix+name)
		copyStore(t, h.dir)
	}
	return d
}

// holdingAfterApproval starts riposte dev with the Slack fake and a run of
// e2e-gated-long-hold for a finding uid blocking ip, approves its gate and
// waits until its approval message shows the hold.
func holdingAfterApproval(t *testing.T, uid, ip string) (*devHarness, *slackfake.Server, string) {
	t.Helper()
	h, fake := slackDev(t, false)
	code, r := h.submit(fmt.Sprintf(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":%q},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":%q},"unmapped":{"gated_long_hold":true}}`, uid, ip))
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-gated-long-hold")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := fake.WaitCalls(ctx, "chat.postMessage", 1); err != nil {
		t.Fatalf("no approval request posted: %v", err)
	}
	h.approve(wid, "block", "URECORDER")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if got, _ := lastApprovalUpdate(fake); strings.Contains(got, "*Holding*") {
			return h, fake, wid
		}
		if time.Now().After(deadline) {
			t.Fatal("the approval message never showed the hold")
		}
	}
}

func TestSlackHoldOfCancelledRunSaysItStays(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake, wid := holdingAfterApproval(t, "cancel-hold-1", "203.0.113.95")
	d := cancelRun(t, h, wid, "cancelled-e2e-gated-long-hold")
	if d.Status != workflows.RunCanceled {
		t.Errorf("a run cancelled while it held reads status %q, want %q", d.Status, workflows.RunCanceled)
	}
	if len(d.Holds) != 1 || d.Holds[0].ReleasedAt != nil {
		t.Fatalf("cancelled run's holds: %+v", d.Holds)
	}
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, _ = lastApprovalUpdate(fake); !strings.Contains(got, "*Holding*") {
			break
		}
	}
	if strings.Contains(got, "*Holding*") || strings.Contains(got, "unless extended") || strings.Contains(got, "riposte extend") {
		t.Fatalf("the approval message of a run cancelled while it held still says the hold will be released unless extended: %q", got)
	}
	for _, want := range []string{"*Not released*", "riposte rollback " + wid, "*Run ended*"} {
		if !strings.Contains(got, want) {
			t.Errorf("the approval message of a run cancelled while it held: %q, want %q in it", got, want)
		}
	}
	h.eventually(t, func() string {
		if !hasRun(h.listRuns(t, "status=canceled"), wid) {
			return "GET /v1/runs?status=canceled does not list the cancelled run " + wid
		}
		return ""
	})
	if hasRun(h.listRuns(t, "status=succeeded"), wid) {
		t.Errorf("GET /v1/runs?status=succeeded lists the cancelled run %s", wid)
	}
}

// TestSlackGateOfCancelledRunCloses: a run cancelled while it waits at an
// approval gate closes the gate ("run cancelled"); its message loses its
// buttons and says the run ended.
func TestSlackGateOfCancelledRunCloses(t *testing.T) {
	h, fake, wid := waitingAtGate(t, "cancel-gate-1")
	d := cancelRun(t, h, wid, "cancelled-e2e-gated")
	if d.Status != workflows.RunCanceled {
		t.Errorf("a run cancelled at its gate reads status %q, want %q", d.Status, workflows.RunCanceled)
	}
	var got string
	buttons := true
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, buttons = lastApprovalUpdate(fake); !buttons && strings.Contains(got, "*Run ended*") {
			break
		}
	}
	if buttons || got == "" {
		t.Fatalf("the approval message of a run cancelled at its gate keeps live Approve/Deny buttons (last update %q)", got)
	}
	if !strings.Contains(got, "*Run ended*") || !strings.Contains(got, "canceled") {
		t.Errorf("the approval message of a run cancelled at its gate: %q, want it to say the run ended, canceled", got)
	}
}

func hasRun(runs []api.RunSummary, wid string) bool {
	for _, r := range runs {
		if r.WorkflowID == wid {
			return true
		}
	}
	return false
}
