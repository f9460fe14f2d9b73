package activities

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

// slackTestEnv registers every action with env.Slack pointing at a fake.
func slackTestEnv(t *testing.T, withSlack bool) (*testsuite.TestActivityEnvironment, *slackfake.Server, *slackapp.Poster) {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	env := NewEnv(nil)
	var poster *slackapp.Poster
	if withSlack {
		var err error
		poster, err = slackapp.NewPoster(slackapp.Config{BotToken: slackfake.BotToken, APIURL: fake.URL(), ApprovalChannel: "C0RIPOSTE1"}, slackapp.PosterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		env.Slack = poster
	}
	var suite testsuite.WorkflowTestSuite
	act := suite.NewTestActivityEnvironment()
	Register(act, env)
	return act, fake, poster
}

func slackAppError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if err == nil || !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an ApplicationError", err, err)
	}
	return ae
}

func TestSlackPostMessageCatalog(t *testing.T) {
	a, ok := Catalog().Lookup("slack.post_message")
	if !ok {
		t.Fatal("slack.post_message is not in the catalog")
	}
	if a.Risk != catalog.RiskNotify || a.Vendor != "slack" {
		t.Errorf("risk %s vendor %s", a.Risk, a.Vendor)
	}
	for _, name := range []string{"channel", "text"} {
		if p, ok := a.Param(name); !ok || !p.Required || p.Type != catalog.TypeString {
			t.Errorf("param %s = %+v", name, p)
		}
	}
	if len(a.Outputs) != 4 || a.Outputs[0].Name != "channel" || a.Outputs[1].Name != "ts" || a.Outputs[2].Name != "already" || a.Outputs[3].Name != "clipped" {
		t.Errorf("outputs %+v", a.Outputs)
	}
}

func TestSlackPostMessage(t *testing.T) {
	act, fake, _ := slackTestEnv(t, true)
	text := "Host fin-ws-042 isolated. Title: <!channel> click <http://evil.example|here> & *bold* <@U0BAD>"
	v, err := act.ExecuteActivity("slack.post_message", Call{Action: "slack.post_message", StepID: "notify",
		Params: map[string]any{"channel": "C0SOC0001", "text": text}})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := v.Get(&out); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	p := msgs[0].Params
	if ts, _ := out["ts"].(string); out["channel"] != "C0SOC0001" || ts == "" {
		t.Errorf("output %v", out)
	}
	want := "Host fin-ws-042 isolated. Title: &lt;!channel&gt; click &lt;http://evil.example|here&gt; &amp; *bold* &lt;@U0BAD&gt;"
	if p["text"] != want {
		t.Errorf("text = %q\nwant   %q", p["text"], want)
	}
	for k, w := range map[string]string{"channel": "C0SOC0001", "mrkdwn": "false", "parse": "none", "link_names": "false", "unfurl_links": "false", "unfurl_media": "false"} {
		if p[k] != w {
			t.Errorf("%s = %q, want %q", k, p[k], w)
		}
	}
}

func TestSlackPostMessageErrors(t *testing.T) {
	tests := []struct {
		name      string
		withSlack bool
		setup     func(*slackfake.Server)
		params    map[string]any
		errType   string
		retryable bool
		contains  string
	}{
		{name: "not configured", params: map[string]any{"channel": "C1", "text": "x"}, errType: "SlackNotConfigured", contains: "Slack is not configured: set SLACK_BOT_TOKEN"},
		{name: "empty text", withSlack: true, params: map[string]any{"channel": "C1", "text": " "}, errType: connector.KindInvalidParams, contains: "text"},
		{name: "text not a string", withSlack: true, params: map[string]any{"channel": "C1", "text": 42}, errType: connector.KindInvalidParams, contains: "text"},
		{name: "no channel", withSlack: true, params: map[string]any{"text": "x"}, errType: connector.KindInvalidParams, contains: "channel"},
		{name: "unknown channel", withSlack: true, setup: func(f *slackfake.Server) { f.SetChannels("C0OTHER") },
			params: map[string]any{"channel": "C1", "text": "x"}, errType: slackapp.ErrTypeChannelNotFound, contains: "C1"},
		{name: "rate limited", withSlack: true, setup: func(f *slackfake.Server) { f.RateLimit("chat.postMessage", 3*time.Second, 1) },
			params: map[string]any{"channel": "C1", "text": "x"}, errType: slackapp.ErrTypeRateLimited, retryable: true, contains: "rate limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			act, fake, _ := slackTestEnv(t, tt.withSlack)
			if tt.setup != nil {
				tt.setup(fake)
			}
			_, err := act.ExecuteActivity("slack.post_message", Call{Action: "slack.post_message", Params: tt.params})
			ae := slackAppError(t, err)
			if ae.Type() != tt.errType || ae.NonRetryable() == tt.retryable {
				t.Errorf("type %s retryable %v, want %s %v (%v)", ae.Type(), !ae.NonRetryable(), tt.errType, tt.retryable, err)
			}
			if !strings.Contains(ae.Error(), tt.contains) {
				t.Errorf("error %q lacks %q", ae.Error(), tt.contains)
			}
		})
	}
}

func TestSlackPostMessageDryRun(t *testing.T) {
	act, fake, _ := slackTestEnv(t, true)
	v, err := act.ExecuteActivity("slack.post_message", Call{Action: "slack.post_message", DryRun: true,
		Params: map[string]any{"channel": "C1", "text": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = v.Get(&out)
	if out["simulated"] != true || len(fake.Calls()) != 0 {
		t.Errorf("dry run posted: %v, %d calls", out, len(fake.Calls()))
	}
}

func approvalEnv(t *testing.T, p *slackapp.Poster) *testsuite.TestActivityEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	act := suite.NewTestActivityEnvironment()
	RegisterApproval(act, p)
	return act
}

func approvalRequest() workflows.GateRequest {
	return workflows.GateRequest{
		WorkflowID: "wf-1", GateID: "isolate", Playbook: "ransomware", StepID: "isolate", Action: "crowdstrike.contain_host",
		Risk: "contain", Params: map[string]any{"hostname": "fin-ws-042"},
		Users: []string{"U0B", "U0A", "U0B", ""}, Groups: []string{"S0LEADS"}, Quorum: 1,
		ExpiresAt: time.Date(2026, 1, 2, 7, 0, 0, 0, time.UTC), Why: "contain needs a human",
		Detection: workflows.DetectionSummary{Title: "Encryption burst", SeverityID: 5},
	}
}

func TestApprovalActivitiesWithoutSlack(t *testing.T) {
	act := approvalEnv(t, nil)
	v, err := act.ExecuteActivity(workflows.ActivityOpenGate, approvalRequest())
	if err != nil {
		t.Fatal(err)
	}
	var opened workflows.GateOpened
	if err := v.Get(&opened); err != nil {
		t.Fatal(err)
	}
	if opened.Posted || opened.Channel != "" || opened.MessageTS != "" || strings.Join(opened.Approvers, ",") != "U0A,U0B" {
		t.Errorf("opened = %+v, want the listed users, sorted and unique, not posted", opened)
	}
	if _, err := act.ExecuteActivity(workflows.ActivityUpdateGate, workflows.GateUpdate{Request: approvalRequest(), Channel: "C1", MessageTS: "1.1"}); err != nil {
		t.Errorf("UpdateGate without Slack: %v", err)
	}
}

func TestApprovalActivitiesWithSlack(t *testing.T) {
	_, fake, poster := slackTestEnv(t, true)
	fake.SetGroup("S0LEADS", "U0C", "U0A")
	act := approvalEnv(t, poster)
	req := approvalRequest()
	v, err := act.ExecuteActivity(workflows.ActivityOpenGate, req)
	if err != nil {
		t.Fatal(err)
	}
	var opened workflows.GateOpened
	if err := v.Get(&opened); err != nil {
		t.Fatal(err)
	}
	if !opened.Posted || opened.Channel != "C0RIPOSTE1" || opened.MessageTS == "" || strings.Join(opened.Approvers, ",") != "U0A,U0B,U0C" {
		t.Errorf("opened = %+v", opened)
	}
	if n := len(fake.Messages()); n != 1 {
		t.Fatalf("%d messages", n)
	}

	d := workflows.Decision{GateID: "isolate", Approve: true, User: "U0A", Via: workflows.ViaSlack, At: time.Now()}
	upd := workflows.GateUpdate{Request: req, Channel: opened.Channel, MessageTS: opened.MessageTS, Gate: workflows.Gate{
		ID: "isolate", StepID: "isolate", State: workflows.GateApproved, Approvers: opened.Approvers, Quorum: 1,
		Votes: []workflows.Decision{d}, Decision: &d, Action: req.Action,
	}}
	if _, err := act.ExecuteActivity(workflows.ActivityUpdateGate, upd); err != nil {
		t.Fatal(err)
	}
	ups := fake.Updates()
	if len(ups) != 1 || ups[0].Params["ts"] != opened.MessageTS {
		t.Fatalf("updates %+v", ups)
	}
	for _, b := range ups[0].Blocks {
		if b["block_id"] == slackapp.BlockButtons {
			t.Error("the decided message still has buttons")
		}
	}

	// A Slack failure surfaces as the activity's error.
	fake.FailNext("chat.postMessage", "not_in_channel")
	_, err = act.ExecuteActivity(workflows.ActivityOpenGate, req)
	if ae := slackAppError(t, err); ae.Type() != slackapp.ErrTypeNotInChannel || !ae.NonRetryable() {
		t.Errorf("not_in_channel: %v", err)
	}
}
