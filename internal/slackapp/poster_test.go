package slackapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

func newTestPoster(t *testing.T, mod func(*Config)) (*Poster, *slackfake.Server) {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	cfg := Config{BotToken: slackfake.BotToken, SigningSecret: testSecret, APIURL: strings.TrimSuffix(fake.URL(), "/"), ApprovalChannel: "C0RIPOSTE1"}
	if mod != nil {
		mod(&cfg)
	}
	p, err := NewPoster(cfg, PosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p, fake
}

func TestOpenGate(t *testing.T) {
	p, fake := newTestPoster(t, nil)
	fake.SetGroup("S0614TZR7", "U0G9QF9C6", "U0H3XYZ12", "U024BE7LH")
	fake.SetGroup("S0EMPTY01")
	req := testRequest()
	req.Users = []string{"U024BE7LH", " ", "U0A11CE01"}
	req.Groups = []string{"S0614TZR7", "S0EMPTY01"}
	req.Channel = ""

	opened, err := p.OpenGate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	wantApprovers := []string{"U024BE7LH", "U0A11CE01", "U0G9QF9C6", "U0H3XYZ12"}
	if strings.Join(opened.Approvers, ",") != strings.Join(wantApprovers, ",") {
		t.Errorf("approvers %v, want %v", opened.Approvers, wantApprovers)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if !opened.Posted || opened.Channel != "C0RIPOSTE1" || opened.MessageTS == "" {
		t.Errorf("opened = %+v", opened)
	}
	for k, want := range map[string]string{
		"channel": "C0RIPOSTE1", "unfurl_links": "false", "unfurl_media": "false", "parse": "none", "link_names": "false",
		"token": slackfake.BotToken,
	} {
		if m.Params[k] != want {
			t.Errorf("chat.postMessage %s = %q, want %q", k, m.Params[k], want)
		}
	}
	if !strings.HasPrefix(m.Params["text"], "Approval needed: crowdstrike.contain_host") {
		t.Errorf("text = %q", m.Params["text"])
	}
	if len(m.Attachments) != 1 || m.Attachments[0]["color"] != ColorCritical {
		t.Errorf("attachments = %v", m.Attachments)
	}
	var ids []string
	for _, b := range m.Blocks {
		ids = append(ids, b["block_id"].(string))
	}
	if got := strings.Join(ids, ","); got != "riposte_header,riposte_action,riposte_detection,riposte_why,riposte_status,riposte_link,riposte_actions" {
		t.Errorf("block ids = %s", got)
	}
	// The approvers resolved are the ones mentioned.
	js := rawJSON(m.Blocks)
	for _, u := range wantApprovers {
		if !strings.Contains(string(js), "<@"+u+">") {
			t.Errorf("approver %s not listed", u)
		}
	}
	groupCalls := 0
	for _, c := range fake.Calls() {
		if c.Method == "usergroups.users.list" {
			groupCalls++
		}
	}
	if groupCalls != 2 {
		t.Errorf("usergroups.users.list called %d times, want 2", groupCalls)
	}
}

func TestOpenGateChannelFromRequest(t *testing.T) {
	p, fake := newTestPoster(t, nil)
	req := testRequest()
	req.Groups = nil
	req.Channel = "C0PLAYBOOK"
	opened, err := p.OpenGate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if opened.Channel != "C0PLAYBOOK" || fake.Messages()[0].Params["channel"] != "C0PLAYBOOK" {
		t.Errorf("posted to %s", opened.Channel)
	}
}

// appErr asserts err is a Temporal application error and returns it.
func appErr(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not a temporal.ApplicationError", err, err)
	}
	return ae
}

func TestPosterErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(*slackfake.Server, *Config, *workflows.GateRequest)
		errType   string
		retryable bool
		delay     time.Duration
		mention   []string
	}{
		{
			name: "rate limited",
			setup: func(f *slackfake.Server, _ *Config, _ *workflows.GateRequest) {
				f.RateLimit("chat.postMessage", 7*time.Second, 1)
			},
			errType:   ErrTypeRateLimited,
			retryable: true,
			delay:     7 * time.Second,
			mention:   []string{"rate limited", "7s"},
		},
		{
			name:    "invalid auth",
			setup:   func(_ *slackfake.Server, c *Config, _ *workflows.GateRequest) { c.BotToken = "xoxb-wrong" },
			errType: ErrTypeAuth,
			mention: []string{"invalid_auth", EnvBotToken},
		},
		{
			name:    "channel not found",
			setup:   func(f *slackfake.Server, _ *Config, _ *workflows.GateRequest) { f.SetChannels("C0OTHER01") },
			errType: ErrTypeChannelNotFound,
			mention: []string{"channel_not_found", `"C0RIPOSTE1"`, "invite"},
		},
		{
			name: "not in channel",
			setup: func(f *slackfake.Server, _ *Config, _ *workflows.GateRequest) {
				f.FailNext("chat.postMessage", "not_in_channel")
			},
			errType: ErrTypeNotInChannel,
			mention: []string{"not_in_channel", "/invite"},
		},
		{
			name: "missing scope",
			setup: func(f *slackfake.Server, _ *Config, _ *workflows.GateRequest) {
				f.FailNext("chat.postMessage", "missing_scope")
			},
			errType: ErrTypeMissingScope,
			mention: []string{"reinstall"},
		},
		{
			name: "unknown group",
			setup: func(f *slackfake.Server, _ *Config, r *workflows.GateRequest) {
				r.Groups = []string{"S0NOPE001"}
			},
			errType: ErrTypeGroupNotFound,
			mention: []string{"S0NOPE001"},
		},
		{
			name: "slack internal error",
			setup: func(f *slackfake.Server, _ *Config, _ *workflows.GateRequest) {
				f.FailNext("chat.postMessage", "internal_error")
			},
			errType:   ErrTypeUnavailable,
			retryable: true,
		},
		{
			name:    "no channel anywhere",
			setup:   func(_ *slackfake.Server, c *Config, r *workflows.GateRequest) { c.ApprovalChannel, r.Channel = "", "" },
			errType: ErrTypeNoChannel,
			mention: []string{EnvApprovalChannel},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slackfake.New()
			defer fake.Close()
			fake.SetGroup("S0614TZR7", "U0G9QF9C6")
			cfg := Config{BotToken: slackfake.BotToken, APIURL: fake.URL(), ApprovalChannel: "C0RIPOSTE1", SigningSecret: testSecret}
			req := testRequest()
			req.Channel = ""
			tt.setup(fake, &cfg, &req)
			p, err := NewPoster(cfg, PosterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.OpenGate(context.Background(), req)
			if err == nil {
				t.Fatal("OpenGate succeeded")
			}
			ae := appErr(t, err)
			if ae.Type() != tt.errType {
				t.Errorf("type %s, want %s (%v)", ae.Type(), tt.errType, err)
			}
			if ae.NonRetryable() == tt.retryable {
				t.Errorf("retryable = %v, want %v", !ae.NonRetryable(), tt.retryable)
			}
			if ae.NextRetryDelay() != tt.delay {
				t.Errorf("next retry delay %s, want %s", ae.NextRetryDelay(), tt.delay)
			}
			for _, m := range tt.mention {
				if !strings.Contains(ae.Message(), m) {
					t.Errorf("message %q does not mention %q", ae.Message(), m)
				}
			}
		})
	}
}

func TestUpdateGate(t *testing.T) {
	p, fake := newTestPoster(t, nil)
	fake.SetGroup("S0614TZR7", "U0G9QF9C6")
	req := testRequest()
	req.Quorum = 2
	opened, err := p.OpenGate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	gate := gateFromRequest(req, opened.Approvers)
	gate.Votes = []workflows.Decision{{GateID: "isolate", Approve: true, User: "U024BE7LH", Via: workflows.ViaSlack, At: testOpened}}

	// One vote of two: still pending, buttons kept, progress shown.
	if err := p.UpdateGate(context.Background(), workflows.GateUpdate{Request: req, Channel: opened.Channel, MessageTS: opened.MessageTS, Gate: gate}); err != nil {
		t.Fatal(err)
	}
	ups := fake.Updates()
	if len(ups) != 1 {
		t.Fatalf("%d updates", len(ups))
	}
	if ups[0].Params["channel"] != opened.Channel || ups[0].Params["ts"] != opened.MessageTS {
		t.Errorf("updated %s/%s", ups[0].Params["channel"], ups[0].Params["ts"])
	}
	js := rawJSON(ups[0].Blocks)
	if !strings.Contains(string(js), "1 of 2 approvals") || !strings.Contains(string(js), `"riposte_actions"`) {
		t.Errorf("pending update lacks progress or buttons: %s", js)
	}
	// The buttons now carry the message ts.
	if !strings.Contains(string(js), `\"ts\":\"`+opened.MessageTS+`\"`) {
		t.Errorf("buttons lack the message ts: %s", js)
	}

	// Approved: buttons gone, who and why shown.
	d := workflows.Decision{GateID: "isolate", Approve: true, User: "U0G9QF9C6", Reason: "ok", Via: workflows.ViaSlack, At: testClosed}
	gate.Votes = append(gate.Votes, d)
	gate.State, gate.Decision, gate.ClosedAt = workflows.GateApproved, &d, &testClosed
	if err := p.UpdateGate(context.Background(), workflows.GateUpdate{Request: req, Channel: opened.Channel, MessageTS: opened.MessageTS, Gate: gate}); err != nil {
		t.Fatal(err)
	}
	ups = fake.Updates()
	js = rawJSON(ups[1].Blocks)
	if strings.Contains(string(js), `"riposte_actions"`) {
		t.Errorf("decided message still has buttons: %s", js)
	}
	if !strings.Contains(string(js), "*Approved* by <@U024BE7LH>, <@U0G9QF9C6> via Slack") || !strings.Contains(string(js), "Reason: ok") {
		t.Errorf("decided message: %s", js)
	}
	if ups[1].Attachments[0]["color"] != ColorApproved {
		t.Errorf("colour %v", ups[1].Attachments[0]["color"])
	}
	if !strings.HasPrefix(ups[1].Params["text"], "Approved: ") {
		t.Errorf("text %q", ups[1].Params["text"])
	}

	// Never posted: nothing to update.
	before := len(fake.Calls())
	if err := p.UpdateGate(context.Background(), workflows.GateUpdate{Request: req, Gate: gate}); err != nil {
		t.Fatal(err)
	}
	if len(fake.Calls()) != before {
		t.Error("update of an unposted gate called Slack")
	}

	// Unknown message.
	err = p.UpdateGate(context.Background(), workflows.GateUpdate{Request: req, Channel: opened.Channel, MessageTS: "1.000001", Gate: gate})
	if ae := appErr(t, err); !ae.NonRetryable() {
		t.Errorf("message_not_found retryable: %v", err)
	}
}

// TestPostTextEscapes: PostText and PostTextOnce post plain text the same
// way; PostTextOnce adds its key in the metadata.
func TestPostTextEscapes(t *testing.T) {
	for _, once := range []bool{false, true} {
		p, fake := newTestPoster(t, nil)
		post := p.PostText
		if once {
			post = func(ctx context.Context, channel, text string) (string, string, error) {
				return p.PostTextOnce(ctx, channel, text, "run-1/notify")
			}
		}
		ch, ts, err := post(context.Background(), "C0RIPOSTE1", "Host <!channel> isolated & <http://evil.example|click> *now*")
		if err != nil {
			t.Fatal(err)
		}
		if ch != "C0RIPOSTE1" || ts == "" {
			t.Errorf("once %v: PostText = %s %s", once, ch, ts)
		}
		m := fake.Messages()[0].Params
		if want := "Host &lt;!channel&gt; isolated &amp; &lt;http://evil.example|click&gt; *now*"; m["text"] != want {
			t.Errorf("once %v: text = %q, want %q", once, m["text"], want)
		}
		for k, want := range map[string]string{"mrkdwn": "false", "parse": "none", "link_names": "false", "unfurl_links": "false", "unfurl_media": "false"} {
			if m[k] != want {
				t.Errorf("once %v: %s = %q, want %q", once, k, m[k], want)
			}
		}
		if got := strings.Contains(m["metadata"], `"idempotency_key":"run-1/notify"`); got != once {
			t.Errorf("once %v: metadata = %q", once, m["metadata"])
		}
	}
}

func TestEphemeral(t *testing.T) {
	p, fake := newTestPoster(t, nil)
	if err := p.Ephemeral(context.Background(), "C0RIPOSTE1", "U024BE7LH", "no <@U1>"); err != nil {
		t.Fatal(err)
	}
	e := fake.Ephemerals()[0].Params
	if e["channel"] != "C0RIPOSTE1" || e["user"] != "U024BE7LH" || e["text"] != "no &lt;@U1&gt;" {
		t.Errorf("ephemeral params %v", e)
	}
}

func TestNewPosterNeedsToken(t *testing.T) {
	if _, err := NewPoster(Config{}, PosterOptions{}); err == nil || !strings.Contains(err.Error(), EnvBotToken) {
		t.Errorf("err = %v", err)
	}
}

// rawJSON marshals v without escaping <, > and &.
func rawJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return buf.String()
}
