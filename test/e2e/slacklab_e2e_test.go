package e2e

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/cli"
)

var labApproveForm = regexp.MustCompile(`(?s)<form method="post" action="/lab/slack/click">\s*<input type="hidden" name="channel" value="([^"]+)"><input type="hidden" name="ts" value="([^"]+)">\s*<input type="hidden" name="action_id" value="riposte_approve"><input type="hidden" name="value" value="([^"]*)">`)

// TestSlackLabApproves: riposte dev without SLACK_BOT_TOKEN posts the
// approval request to its Slack fake, /lab/slack shows it with its buttons,
// and a click there (a signed block_actions through the real
// /slack/interactions handler) opens the gate and updates the message.
func TestSlackLabApproves(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APPROVAL_CHANNEL"} {
		t.Setenv(k, "")
	}
	h := startDevForTest(t, t.TempDir(), func(o *cli.DevOptions) { o.SlackFake = true })
	defer h.sys.Close()
	if !h.sys.SlackFake {
		t.Fatal("riposte dev did not start the Slack fake")
	}
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"lab-1","title":"Beacon to <b>evil</b>"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.95"},"unmapped":{"deny_case":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-deny")
	h.waitStep(wid, "block", "waiting_approval")

	var page string
	var m []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, b := h.do("GET", "/lab/slack", "", "")
		page = string(b)
		if m = labApproveForm.FindStringSubmatch(page); code == 200 && m != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Approve button on /lab/slack (%d):\n%s", code, page)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(page, `<option value="URECORDER"`) || !strings.Contains(page, "S0SOCONCALL") {
		t.Errorf("the page lacks the user picker or the groups:\n%s", page)
	}
	if strings.Contains(page, "<b>evil</b>") {
		t.Error("detection text rendered as markup")
	}

	// Someone who is not an approver is refused; nothing changes.
	click := func(user string) (int, string) {
		form := url.Values{"user": {user}, "channel": {m[1]}, "ts": {m[2]}, "action_id": {"riposte_approve"}, "value": {html.UnescapeString(m[3])}}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(h.baseURL+"/lab/slack/click", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return resp.StatusCode, loc.Query().Get("result")
	}
	if code, res := click("U0CISO0001"); code != http.StatusSeeOther || !strings.Contains(res, "U0CISO0001 clicked riposte_approve") {
		t.Errorf("outsider click: %d %q", code, res)
	}
	if d := h.runDetail(t, wid); d.Steps[0].Status != "waiting_approval" {
		t.Fatalf("an outsider's click changed the gate: %+v", d.Steps[0])
	}
	if code, res := click("URECORDER"); code != http.StatusSeeOther || !strings.Contains(res, "answered 200") {
		t.Errorf("approver click: %d %q", code, res)
	}
	d := h.waitStep(wid, "block", "succeeded")
	if g := d.Steps[0].Gate; g == nil || g.State != "approved" || g.Decision == nil || g.Decision.User != "URECORDER" || g.Decision.Via != "slack" {
		t.Errorf("gate = %+v", d.Steps[0].Gate)
	}
	// The message is updated: edited, and its buttons are gone.
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, b := h.do("GET", "/lab/slack", "", "")
		page = string(b)
		if strings.Contains(page, "edited") && !labApproveForm.MatchString(page) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("message not updated after the approval:\n%s", page)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSlackLabResolvesGroups: approver groups resolve against the Slack
// fake's user groups in riposte dev; a member approves from the lab page.
func TestSlackLabResolvesGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APPROVAL_CHANNEL"} {
		t.Setenv(k, "")
	}
	h := startDevForTest(t, t.TempDir(), func(o *cli.DevOptions) { o.SlackFake = true })
	defer h.sys.Close()
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"group-1"},"metadata":{"product":{"name":"x"}},"unmapped":{"group_case":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-group")
	var approvers string
	deadline := time.Now().Add(30 * time.Second)
	for {
		d := h.waitStep(wid, "note", "waiting_approval")
		if g := d.Steps[0].Gate; g != nil {
			approvers = strings.Join(g.Approvers, ",")
		}
		if approvers == "U0ONCALL001,U0ONCALL002" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if approvers != "U0ONCALL001,U0ONCALL002" {
		t.Fatalf("approvers of the group gate = %q, want the fake group's members", approvers)
	}
	var m []string
	deadline = time.Now().Add(30 * time.Second)
	for m == nil {
		_, b := h.do("GET", "/lab/slack", "", "")
		m = labApproveForm.FindStringSubmatch(string(b))
		if m == nil && time.Now().After(deadline) {
			t.Fatalf("no Approve button:\n%s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	form := url.Values{"user": {"U0ONCALL002"}, "channel": {m[1]}, "ts": {m[2]}, "action_id": {"riposte_approve"}, "value": {html.UnescapeString(m[3])}}
	resp, err := http.PostForm(h.baseURL+"/lab/slack/click", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d := h.waitStep(wid, "note", "succeeded")
	if g := d.Steps[0].Gate; g == nil || g.Decision == nil || g.Decision.User != "U0ONCALL002" {
		t.Errorf("gate = %+v", d.Steps[0].Gate)
	}
}

// TestSlackLabKeepsRequestsAcrossRestart: riposte dev restarted with the
// same data dir still shows, on /lab/slack, the request of a run waiting at
// a gate (the fake's messages are kept in lab-slack.json), and a click on
// it decides the gate and updates the message. Before, the channel was
// empty after a restart and every update of an earlier message answered
// message_not_found.
func TestSlackLabKeepsRequestsAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APPROVAL_CHANNEL"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	lab := func(o *cli.DevOptions) { o.SlackFake = true }
	h := startDevForTest(t, dir, lab)
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"lab-restart-1"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.96"},"unmapped":{"deny_case":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-deny")
	h.waitStep(wid, "block", "waiting_approval")
	approveForm := func(h *devHarness) []string {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			code, b := h.do("GET", "/lab/slack", "", "")
			if m := labApproveForm.FindStringSubmatch(string(b)); code == 200 && m != nil {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("no Approve button on /lab/slack (%d):\n%s", code, b)
			}
		}
	}
	before := approveForm(h)
	h.sys.Close()

	h2 := startDevForTest(t, dir, lab)
	defer h2.sys.Close()
	m := approveForm(h2)
	if m[2] != before[2] {
		t.Errorf("after the restart the request is message %s, want %s (the one posted before)", m[2], before[2])
	}
	form := url.Values{"user": {"URECORDER"}, "channel": {m[1]}, "ts": {m[2]}, "action_id": {"riposte_approve"}, "value": {html.UnescapeString(m[3])}}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(h2.baseURL+"/lab/slack/click", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if res := loc.Query().Get("result"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(res, "answered 200") {
		t.Fatalf("approver click after the restart: %d %q", resp.StatusCode, res)
	}
	d := h2.waitStep(wid, "block", "succeeded")
	if g := d.Steps[0].Gate; g == nil || g.State != "approved" || g.Decision == nil || g.Decision.User != "URECORDER" {
		t.Errorf("gate = %+v", d.Steps[0].Gate)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, b := h2.do("GET", "/lab/slack", "", "")
		if page := string(b); strings.Contains(page, "edited") && !labApproveForm.MatchString(page) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the message posted before the restart was not updated after the approval")
		}
	}
}
