package e2e

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
)

// TestSlackGateOfTerminatedRunCloses: a run Temporal terminates (or times
// out) while it waits at an approval gate runs no workflow code at its
// end, so nothing rewrote its Slack approval message: it kept Approve and
// Deny buttons for a run no decision can reach, and an approver looking at
// the channel could not tell it from a live request. The process serving
// Slack rewrites it: the run ended, no buttons. A click that was already
// on its way is refused, saying the run has ended.
func TestSlackGateOfTerminatedRunCloses(t *testing.T) {
	h, fake, wid := waitingAtGate(t, "term-gate-1")
	posts := fake.Messages()
	if len(posts) != 1 {
		t.Fatalf("%d messages posted, want the one approval request", len(posts))
	}
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.TerminateWorkflow(t.Context(), wid, "", "operator ended it"); err != nil {
		t.Fatal(err)
	}

	hasButtons := func(call slackfake.Call) bool {
		for _, b := range call.Blocks {
			if b["block_id"] == slackapp.BlockButtons || b["type"] == "actions" {
				return true
			}
		}
		return false
	}
	text := func(call slackfake.Call) string {
		var sb strings.Builder
		for _, b := range call.Blocks {
			if txt, ok := b["text"].(map[string]any); ok {
				s, _ := txt["text"].(string)
				sb.WriteString(s + "\n")
			}
		}
		return sb.String()
	}
	var closed *slackfake.Call
	for deadline := time.Now().Add(60 * time.Second); closed == nil && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, u := range fake.Updates() {
			if u.Params["channel"] == "CSECOPS" && !hasButtons(u) && strings.Contains(text(u), "terminated") {
				closed = &u
				break
			}
		}
	}
	if closed == nil {
		t.Fatalf("the approval message of a run terminated at its gate was never rewritten (chat.update calls: %d): it keeps live Approve/Deny buttons", len(fake.Updates()))
	}
	if got := text(*closed); !strings.Contains(got, "Buttons on this message no longer work") {
		t.Errorf("closed message: %q", got)
	}

	// Another replica, or this process after a restart, finds the same
	// message and writes the same content.
	rec := &recordingCloser{}
	wctx, stop := context.WithCancel(t.Context())
	defer stop()
	approvals.WatchEndedRuns(wctx, approvals.EndedRunsOptions{Client: c, Namespace: "default", Closer: rec, Every: 100 * time.Millisecond,
		DataConverter: codec.NewDataConverter(h.sys.Keys)})
	for deadline := time.Now().Add(20 * time.Second); rec.count() == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
	}
	stop()
	if got := rec.all(); len(got) != 1 || got[0].Channel != "CSECOPS" || got[0].MessageTS != closed.Params["ts"] || got[0].Ended != approvals.EndedTerminated {
		t.Errorf("a second watcher found %+v, want the one message %s", got, closed.Params["ts"])
	} else if b1, _, _ := slackapp.EndedBlocks(got[0]); len(b1) != len(closed.Blocks) {
		t.Errorf("a second watcher renders %d blocks, the first wrote %d", len(b1), len(closed.Blocks))
	}

	// A click on the old message is refused, saying why.
	click := slackfake.BlockActionPayload("URECORDER", wid, "approve", slackapp.ActionApprove, "CSECOPS", closed.Params["ts"])
	if code, _ := h.postSigned(t, slackfake.SignedInteraction(slackSecret, click, time.Now())); code != 200 {
		t.Fatalf("click: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	eph, err := fake.WaitCalls(ctx, "chat.postEphemeral", 1)
	if err != nil || eph[0].Params["user"] != "URECORDER" || !strings.Contains(eph[0].Params["text"], "ended") {
		t.Fatalf("click on a terminated run's gate: %v %+v", err, eph)
	}
}

type recordingCloser struct {
	mu    sync.Mutex
	gates []approvals.EndedGate
}

func (r *recordingCloser) CloseEndedGate(_ context.Context, g approvals.EndedGate) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gates = append(r.gates, g)
	return nil
}

func (r *recordingCloser) count() int { return len(r.all()) }

func (r *recordingCloser) all() []approvals.EndedGate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]approvals.EndedGate(nil), r.gates...)
}

// TestSlackHoldOfTerminatedRunSaysItStays: a run Temporal terminates while
// it holds a time-boxed containment (contain_for) never releases it, and no
// workflow code runs at that end, so its approval message kept saying
// "Holding: block is released at T, unless extended" with the command to
// extend it, while the API and riposte runs show say the hold was not
// released and stays in place. The process serving Slack rewrites it: the
// run was terminated, the containment was not released and stays, riposte
// rollback undoes it; no extend command.
func TestSlackHoldOfTerminatedRunSaysItStays(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake, wid := holdingAfterApproval(t, "term-hold-1", "203.0.113.94")

	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.TerminateWorkflow(t.Context(), wid, "", "operator ended it"); err != nil {
		t.Fatal(err)
	}

	var got string
	buttons := false
	for deadline := time.Now().Add(45 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, buttons = lastApprovalUpdate(fake); !strings.Contains(got, "*Holding*") {
			break
		}
	}
	if strings.Contains(got, "*Holding*") || strings.Contains(got, "unless extended") || strings.Contains(got, "riposte extend") {
		t.Fatalf("the approval message of a run terminated while it held still says the hold will be released (and how to extend it): %q", got)
	}
	for _, want := range []string{"terminated", "not released", "stays in place", "riposte rollback " + wid} {
		if !strings.Contains(got, want) {
			t.Errorf("the approval message of a run terminated while it held: %q, want it to say %q", got, want)
		}
	}
	if buttons {
		t.Errorf("the rewritten message has buttons: %q", got)
	}

	// riposte rollback undoes it, as the message says: the message then
	// says so, not that the containment stays in place.
	if code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("USOC"), `{"user":"USOC"}`); code != 202 {
		t.Fatalf("rollback: %d %s", code, b)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, _ = lastApprovalUpdate(fake); !strings.Contains(got, "stays in place") {
			break
		}
	}
	if strings.Contains(got, "stays in place") || !strings.Contains(got, "rolled back") || !strings.Contains(got, "rollback:"+wid) {
		t.Errorf("the approval message of a terminated run rolled back since: %q, want it to say the containment was rolled back (rollback:%s)", got, wid)
	}
}
