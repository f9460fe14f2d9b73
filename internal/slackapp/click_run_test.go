package slackapp

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/slack-go/slack"

	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

// TestSlackClickNamesTheRunOfItsMessage: a gate's buttons carry the run
// that posted them, and a click, or the reason form it opens, decides for
// that run (Decision.RunID), as the API's run_id does: approvals.Service
// refuses a decision whose run is no longer the one running, so a click on
// the message of an ended run (Slack resending it within seconds of the
// finding being reopened, to another replica) never counts as a vote in
// the run of the reopened finding. A button of a message posted before
// buttons named their run (no "r") decides for the running run, as
// before.
func TestSlackClickNamesTheRunOfItsMessage(t *testing.T) {
	const wid, run = "det-7f3a9c-ransomware-response", "0195c1e2-7d4a-7a1e-9c3f-1f2e3d4c5b6a"
	blk, ok := buttonsBlock(workflows.GateRequest{WorkflowID: wid, RunID: run, GateID: "isolate"}, workflows.Gate{ID: "isolate"}).(*slack.ActionBlock)
	if !ok || len(blk.Elements.ElementSet) == 0 {
		t.Fatalf("buttons block %#v", blk)
	}
	b, _ := json.Marshal(blk.Elements.ElementSet[0])
	var button struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(b, &button); err != nil {
		t.Fatal(err)
	}
	ref, err := ParseGateRef(button.Value)
	if err != nil || ref.RunID != run {
		t.Fatalf("button value %s: run %q (%v), want %q", button.Value, ref.RunID, err, run)
	}

	for _, tt := range []struct {
		name, value, want string
	}{
		{"a button naming its run", button.Value, run},
		{"a button of an earlier release", slackfake.ButtonValue(wid, "isolate", ""), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			click := slackfake.BlockActionPayloadWithValue("U0G9QF9C6", tt.value, ActionApprove, "C0RIPOSTE1", "1767323045.000100")
			if w := env.serve(slackfake.SignedInteraction(testSecret, click, testNow)); w.Code != http.StatusOK {
				t.Fatalf("click: %d", w.Code)
			}
			reason := slackfake.BlockActionPayloadWithValue("U0G9QF9C6", tt.value, ActionDenyReason, "C0RIPOSTE1", "1767323045.000100")
			if w := env.serve(slackfake.SignedInteraction(testSecret, reason, testNow)); w.Code != http.StatusOK {
				t.Fatalf("reason click: %d", w.Code)
			}
			env.handler.Processor().Wait()
			views := env.fake.ViewsOpened()
			if len(views) != 1 {
				t.Fatalf("views.open called %d times", len(views))
			}
			meta, _ := views[0].View["private_metadata"].(string)
			submit := slackfake.ViewSubmissionPayload("U0G9QF9C6", ReasonModalCallbackID, meta,
				map[string]map[string]string{ReasonBlockID: {ReasonActionID: "not this host"}})
			if w := env.serve(slackfake.SignedInteraction(testSecret, submit, testNow)); w.Code != http.StatusOK {
				t.Fatalf("submit: %d", w.Code)
			}
			env.handler.Processor().Wait()
			calls := env.decider.Calls()
			if len(calls) != 2 {
				t.Fatalf("Decide called %d times, want the click and the form", len(calls))
			}
			for _, c := range calls {
				if c.Decision.RunID != tt.want {
					t.Errorf("decision %+v: run %q, want %q", c.Decision, c.Decision.RunID, tt.want)
				}
			}
		})
	}
}
