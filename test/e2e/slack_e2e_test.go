package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

const slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// slackDev starts riposte dev against the fake Slack.
func slackDev(t *testing.T, socket bool) (*devHarness, *slackfake.Server) {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.SetChannels("CSECOPS")
	t.Setenv("SLACK_BOT_TOKEN", slackfake.BotToken)
	t.Setenv("SLACK_TEAM_ID", slackfake.TeamID)
	t.Setenv("SLACK_APP_ID", slackfake.AppID)
	t.Setenv("SLACK_API_URL", fake.URL())
	t.Setenv("RIPOSTE_APPROVAL_CHANNEL", "CSECOPS")
	if socket {
		t.Setenv("SLACK_APP_TOKEN", slackfake.AppToken)
		t.Setenv("SLACK_SIGNING_SECRET", "")
	} else {
		t.Setenv("SLACK_SIGNING_SECRET", slackSecret)
		t.Setenv("SLACK_APP_TOKEN", "")
	}
	dir := t.TempDir()
	if *record {
		dir = recordingDir(t) // the replay guard's key, for tests that record
	}
	h := startDevForTest(t, dir)
	t.Cleanup(h.sys.Close)
	return h, fake
}

// postSigned sends a signed interaction to the API like Slack does.
func (h *devHarness) postSigned(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(req.Body)
	r, _ := http.NewRequest("POST", h.baseURL+"/slack/interactions", bytes.NewReader(body.Bytes()))
	r.Header = req.Header.Clone()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(bytes.Buffer)
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// waitingAtGate starts riposte dev with the Slack fake and a gated run of
// detection uid, and waits until its approve gate is open.
func waitingAtGate(t *testing.T, uid string) (*devHarness, *slackfake.Server, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, false)
	wid, _ := gatedRun(t, h, fake, uid)
	h.waitStep(wid, "approve", "waiting_approval")
	return h, fake, wid
}

func gatedRun(t *testing.T, h *devHarness, fake *slackfake.Server, uid string) (string, slackfake.Call) {
	t.Helper()
	code, r := h.submit(detectionJSON(uid, 5, `,"unmapped":{"gate":true}`))
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	var wid string
	for _, m := range r.Detections[0].Matched {
		if m.Playbook == "e2e-gated" {
			wid = m.WorkflowID
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, err := fake.WaitCalls(ctx, "chat.postMessage", 1)
	if err != nil {
		t.Fatalf("no approval request posted: %v", err)
	}
	msg := msgs[len(msgs)-1]
	if msg.Params["channel"] != "CSECOPS" {
		t.Errorf("posted to %q", msg.Params["channel"])
	}
	return wid, msg
}

func gateState(t *testing.T, h *devHarness, wid string) string {
	t.Helper()
	d := h.waitOrState(wid)
	for _, st := range d.Steps {
		if st.ID == "approve" && st.Gate != nil {
			return st.Gate.State
		}
	}
	return ""
}

// waitOrState returns the run detail without waiting for the end.
func (h *devHarness) waitOrState(wid string) workflowsDetail {
	code, b := h.do("GET", "/v1/runs/"+url.PathEscape(wid), h.token, "")
	var d workflowsDetail
	if code == 200 {
		_ = jsonUnmarshal(b, &d)
	}
	return d
}

func TestSlackApprovalOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, false)
	wid, msg := gatedRun(t, h, fake, "slack-1")
	ts := msg.Params["ts"]
	if ts == "" {
		// chat.postMessage answers with ts; the fake records the request only.
		ts = "1"
	}
	if strings.Contains(msg.Params["attachments"], "<!channel>") {
		t.Errorf("detection text reached Slack as markup: %s", msg.Params["attachments"])
	}
	now := time.Now()
	click := func(user string) map[string]any {
		return slackfake.BlockActionPayload(user, wid, "approve", slackapp.ActionApprove, "CSECOPS", "")
	}

	// Forged signature: 401, nothing changes.
	if code, _ := h.postSigned(t, slackfake.SignedInteraction("wrong-secret", click("URECORDER"), now)); code != 401 {
		t.Errorf("forged signature: %d", code)
	}
	// Old timestamp: 401.
	if code, _ := h.postSigned(t, slackfake.SignedInteraction(slackSecret, click("URECORDER"), now.Add(-6*time.Minute))); code != 401 {
		t.Errorf("old timestamp: %d", code)
	}
	// Unauthorised user: ephemeral refusal, gate still open.
	if code, _ := h.postSigned(t, slackfake.SignedInteraction(slackSecret, click("UMALLORY"), now)); code != 200 {
		t.Errorf("outsider click: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	eph, err := fake.WaitCalls(ctx, "chat.postEphemeral", 1)
	if err != nil || eph[0].Params["user"] != "UMALLORY" || !strings.Contains(eph[0].Params["text"], "not an approver") {
		t.Fatalf("ephemeral refusal: %v %+v", err, eph)
	}
	if st := gateState(t, h, wid); st != workflows.GatePending {
		t.Fatalf("gate after outsider click: %q", st)
	}
	// A real approver's signed click: the run continues, the message is updated.
	good := slackfake.SignedInteraction(slackSecret, click("URECORDER"), time.Now())
	goodBody := new(bytes.Buffer)
	_, _ = goodBody.ReadFrom(good.Body)
	replay := func() *http.Request {
		r, _ := http.NewRequest("POST", "/slack/interactions", bytes.NewReader(goodBody.Bytes()))
		r.Header = good.Header.Clone()
		return r
	}
	if code, _ := h.postSigned(t, replay()); code != 200 {
		t.Fatalf("approver click: %d", code)
	}
	d := h.waitRun(wid, time.Minute)
	if d.Status != workflows.RunSucceeded {
		t.Fatalf("run after approval: %+v", d)
	}
	var g *workflows.Gate
	for _, st := range d.Steps {
		if st.ID == "approve" {
			g = st.Gate
		}
	}
	if g == nil || g.State != workflows.GateApproved || g.Decision.User != "URECORDER" || g.Decision.Via != workflows.ViaSlack {
		t.Fatalf("gate = %+v", g)
	}
	if _, err := fake.WaitCalls(ctx, "chat.update", 1); err != nil {
		t.Errorf("message not updated after the decision: %v", err)
	}
	// The same signed request again is a replay: refused.
	if code, _ := h.postSigned(t, replay()); code == 200 {
		t.Errorf("replayed request accepted")
	}
}

func TestSlackApprovalOverSocketMode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatalf("socket mode did not connect: %v", err)
	}
	wid, _ := gatedRun(t, h, fake, "slack-2")
	env, err := fake.PushInteractive(slackfake.BlockActionPayload("UOTHER", wid, "approve", slackapp.ActionApprove, "CSECOPS", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(ctx, env); err != nil {
		t.Fatalf("envelope not acked: %v", err)
	}
	d := h.waitRun(wid, time.Minute)
	if d.Status != workflows.RunSucceeded {
		t.Fatalf("run after socket-mode approval: %+v", d)
	}
}

// TestSlackMessageFollowsTheRun: after the gate of a contain_for step is
// approved, the approval message in Slack shows when the hold is released,
// and, when the run ends, that it was released and the run's outcome.
func TestSlackMessageFollowsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, false)
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"gh-1"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.93"},"unmapped":{"gated_hold":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-gated-hold")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := fake.WaitCalls(ctx, "chat.postMessage", 1); err != nil {
		t.Fatalf("no approval request posted: %v", err)
	}
	h.approve(wid, "block", "URECORDER")
	d := h.waitRun(wid, time.Minute)
	if d.Outcome != "contained" || len(d.Holds) != 1 || d.Holds[0].ReleasedAt == nil {
		t.Fatalf("run: outcome %q holds %+v", d.Outcome, d.Holds)
	}
	runText := func(c slackfake.Call) string {
		for _, b := range c.Blocks {
			if b["block_id"] == "riposte_run" {
				txt, _ := b["text"].(map[string]any)
				s, _ := txt["text"].(string)
				return s
			}
		}
		return ""
	}
	var holding, ended string
	deadline := time.Now().Add(30 * time.Second)
	for ended == "" && time.Now().Before(deadline) {
		for _, c := range fake.Calls() {
			if c.Method != "chat.update" {
				continue
			}
			switch s := runText(c); {
			case strings.HasPrefix(s, "*Holding*"):
				holding = s
			case strings.Contains(s, "*Run ended*"):
				ended = s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	until := d.Holds[0].Until
	if want := fmt.Sprintf("*Holding*: `block` is released (panos.unblock_ip) <!date^%d^", until.Unix()); !strings.HasPrefix(holding, want) ||
		!strings.Contains(holding, "`riposte extend "+wid+" block 4h`") {
		t.Errorf("holding message: %q, want it to start with %q", holding, want)
	}
	if !strings.Contains(ended, "*Time-boxed*: `block` released (panos.unblock_ip)") || !strings.Contains(ended, "*Run ended*: contained") {
		t.Errorf("final message: %q", ended)
	}
}
