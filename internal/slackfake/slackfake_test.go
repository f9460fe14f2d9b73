package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

func client(s *Server, token string) *slack.Client {
	return slack.New(token, slack.OptionAPIURL(s.URL()), slack.OptionAppLevelToken(AppToken))
}

func TestWebAPI(t *testing.T) {
	s := New()
	defer s.Close()
	api := client(s, BotToken)
	ctx := context.Background()

	auth, err := api.AuthTestContext(ctx)
	if err != nil || auth.UserID != BotUserID || auth.TeamID != TeamID {
		t.Fatalf("auth.test = %+v, %v", auth, err)
	}

	ch, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("plain_text", "block", false, false), nil, nil)),
		slack.MsgOptionAttachments(slack.Attachment{Color: "#fff", Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewDividerBlock()}}}))
	if err != nil || ch != "C1" || ts == "" {
		t.Fatalf("chat.postMessage = %s %s %v", ch, ts, err)
	}
	m := s.Messages()[0]
	if m.Params["text"] != "hi" || m.Params["token"] != BotToken || len(m.Blocks) != 2 || m.Blocks[0]["type"] != "section" || m.Blocks[1]["type"] != "divider" {
		t.Errorf("recorded %+v", m)
	}

	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("edited", false)); err != nil {
		t.Errorf("chat.update: %v", err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", "1.1", slack.MsgOptionText("x", false)); !isSlackErr(err, "message_not_found") {
		t.Errorf("update of an unknown message: %v", err)
	}
	if _, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("psst", false)); err != nil {
		t.Errorf("chat.postEphemeral: %v", err)
	}

	s.SetGroup("S1", "U2", "U1")
	if users, err := api.GetUserGroupMembersContext(ctx, "S1"); err != nil || strings.Join(users, ",") != "U2,U1" {
		t.Errorf("usergroups.users.list = %v, %v", users, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "S404"); !isSlackErr(err, "no_such_subteam") {
		t.Errorf("unknown group: %v", err)
	}

	view := slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "cb", PrivateMetadata: "meta",
		Title: slack.NewTextBlockObject("plain_text", "T", false, false)}
	resp, err := api.OpenViewContext(ctx, "trigger-1", view)
	if err != nil || resp.ID == "" || resp.CallbackID != "cb" {
		t.Fatalf("views.open = %+v, %v", resp, err)
	}
	v := s.ViewsOpened()[0]
	if v.Params["trigger_id"] != "trigger-1" || v.View["private_metadata"] != "meta" {
		t.Errorf("recorded view %+v", v)
	}
}

func isSlackErr(err error, code string) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && se.Err == code
}

func TestAuthAndFailures(t *testing.T) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	if _, err := client(s, "xoxb-wrong").AuthTestContext(ctx); !isSlackErr(err, "invalid_auth") {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := client(s, "").AuthTestContext(ctx); !isSlackErr(err, "not_authed") {
		t.Errorf("no token: %v", err)
	}
	if _, err := client(s, AppToken).AuthTestContext(ctx); !isSlackErr(err, "not_allowed_token_type") {
		t.Errorf("app token on a bot method: %v", err)
	}

	api := client(s, BotToken)
	s.SetChannels("C1")
	if _, _, err := api.PostMessageContext(ctx, "C2", slack.MsgOptionText("x", false)); !isSlackErr(err, "channel_not_found") {
		t.Errorf("unknown channel: %v", err)
	}
	s.FailNext("chat.postMessage", "not_in_channel")
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); !isSlackErr(err, "not_in_channel") {
		t.Errorf("FailNext: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("after FailNext: %v", err)
	}

	s.RateLimit("chat.postMessage", 1500*time.Millisecond, 1)
	_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Errorf("rate limit: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("after the rate limit: %v", err)
	}
	var codes []string
	for _, c := range s.Calls() {
		codes = append(codes, c.Error)
	}
	if got := strings.Join(codes, ","); got != "invalid_auth,not_authed,not_allowed_token_type,channel_not_found,not_in_channel,,ratelimited," {
		t.Errorf("recorded errors %q", got)
	}
}

func TestSocketMode(t *testing.T) {
	s := New()
	defer s.Close()
	s.PingInterval = 20 * time.Millisecond
	api := client(s, BotToken)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// apps.connections.open wants the app-level token.
	botAsApp := slack.New(BotToken, slack.OptionAPIURL(s.URL()), slack.OptionAppLevelToken(BotToken))
	if _, _, err := botAsApp.StartSocketModeContext(ctx); !isSlackErr(err, "not_allowed_token_type") {
		t.Errorf("bot token on apps.connections.open: %v", err)
	}
	_, wsURL, err := api.StartSocketModeContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(wsURL)
	if u.Scheme != "ws" || !strings.HasPrefix(u.Host, "127.0.0.1:") || u.Query().Get("ticket") == "" {
		t.Fatalf("url %s", wsURL)
	}
	pinged := make(chan struct{}, 1)
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	var hello map[string]any
	if err := conn.ReadJSON(&hello); err != nil || hello["type"] != "hello" {
		t.Fatalf("hello = %v, %v", hello, err)
	}
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := s.PushInteractive(BlockActionPayload("U1", "wf", "g", "riposte_approve", "C1", "1.2"))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		EnvelopeID string                    `json:"envelope_id"`
		Type       string                    `json:"type"`
		Payload    slack.InteractionCallback `json:"payload"`
	}
	if err := conn.ReadJSON(&env); err != nil {
		t.Fatal(err)
	}
	if env.EnvelopeID != id || env.Type != "interactive" || env.Payload.Type != slack.InteractionTypeBlockActions ||
		env.Payload.ActionCallback.BlockActions[0].Value != `{"w":"wf","g":"g"}` || env.Payload.Container.MessageTs != "1.2" {
		t.Errorf("envelope %+v", env)
	}
	if err := conn.WriteJSON(map[string]any{"envelope_id": id, "payload": map[string]any{"x": 1}}); err != nil {
		t.Fatal(err)
	}
	ack, err := s.WaitAck(ctx, id)
	if err != nil || string(ack.Payload) != `{"x":1}` {
		t.Errorf("ack %+v, %v", ack, err)
	}
	// The reader loop answers pings; run it until one arrives.
	go func() {
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pinged:
	case <-ctx.Done():
		t.Error("no ping")
	}
	// Tickets are single-use.
	if _, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil); err == nil {
		t.Error("ticket reused")
	}
}

func TestPayloadsParse(t *testing.T) {
	body := InteractionBody(BlockActionPayload("U1", "wf", "g", "riposte_deny", "C1", "1.2"))
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		t.Fatal(err)
	}
	a := cb.ActionCallback.BlockActions[0]
	if cb.User.ID != "U1" || cb.TriggerID == "" || a.ActionID != "riposte_deny" || cb.Container.ChannelID != "C1" || cb.Channel.ID != "C1" {
		t.Errorf("parsed %+v", cb)
	}

	sub := ViewSubmissionPayload("U1", "cb", "meta", map[string]map[string]string{"b": {"a": "why"}})
	js, _ := json.Marshal(sub)
	var vs slack.InteractionCallback
	if err := json.Unmarshal(js, &vs); err != nil {
		t.Fatal(err)
	}
	if vs.Type != slack.InteractionTypeViewSubmission || vs.View.CallbackID != "cb" || vs.View.PrivateMetadata != "meta" || vs.View.State.Values["b"]["a"].Value != "why" {
		t.Errorf("parsed %+v", vs.View)
	}

	r := SignedInteraction("secret", sub, time.Unix(1531420618, 0))
	b, _ := io.ReadAll(r.Body)
	if r.Header.Get("X-Slack-Signature") != Sign("secret", time.Unix(1531420618, 0), b) || r.Header.Get("X-Slack-Request-Timestamp") != "1531420618" {
		t.Error("bad signature headers")
	}
}

func TestSignMatchesSlackExample(t *testing.T) {
	// The example in Slack's "Verifying requests from Slack".
	body := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
	if got := Sign("8f742231b10e8888abcd99yyyzzz85a5", time.Unix(1531420618, 0), body); got != "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503" {
		t.Errorf("Sign = %s", got)
	}
}

// conversations.history pages like Slack's: newest first, at most
// HistoryPageMax a page whatever the limit asked, has_more and a next_cursor
// until the oldest message, oldest and latest exclusive unless inclusive.
func TestHistoryPages(t *testing.T) {
	s := New()
	defer s.Close()
	api := client(s, BotToken)
	ctx := context.Background()
	var ts []string // oldest first
	for i := range 40 {
		_, t1, err := api.PostMessageContext(ctx, "C0SOC00001", slack.MsgOptionText(strconv.Itoa(i), false))
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, t1)
	}
	if _, _, err := api.PostMessageContext(ctx, "C0OTHER001", slack.MsgOptionText("elsewhere", false)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		pageMax  int
		params   slack.GetConversationHistoryParameters
		wantPage []int // page sizes
		first    string
	}{
		{"capped at 15", 15, slack.GetConversationHistoryParameters{Limit: 200}, []int{15, 15, 10}, "39"},
		{"default limit is the cap", 15, slack.GetConversationHistoryParameters{}, []int{15, 15, 10}, "39"},
		{"smaller limit", 15, slack.GetConversationHistoryParameters{Limit: 7}, []int{7, 7, 7, 7, 7, 5}, "39"},
		{"no cap", 0, slack.GetConversationHistoryParameters{Limit: 200}, []int{40}, "39"},
		{"oldest exclusive", 15, slack.GetConversationHistoryParameters{Oldest: ts[29]}, []int{10}, "39"},
		{"oldest inclusive", 15, slack.GetConversationHistoryParameters{Oldest: ts[29], Inclusive: true}, []int{11}, "39"},
		{"latest", 15, slack.GetConversationHistoryParameters{Latest: ts[10]}, []int{10}, "9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.mu.Lock()
			s.HistoryPageMax = tt.pageMax
			s.mu.Unlock()
			p := tt.params
			p.ChannelID = "C0SOC00001"
			var sizes []int
			var texts []string
			for {
				res, err := api.GetConversationHistoryContext(ctx, &p)
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(res.Messages))
				for _, m := range res.Messages {
					texts = append(texts, m.Text)
				}
				if res.HasMore != (res.ResponseMetaData.NextCursor != "") {
					t.Fatalf("has_more %v, next_cursor %q", res.HasMore, res.ResponseMetaData.NextCursor)
				}
				if !res.HasMore {
					break
				}
				p.Cursor = res.ResponseMetaData.NextCursor
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tt.wantPage) || texts[0] != tt.first {
				t.Errorf("pages %v starting with %q, want %v starting with %q", sizes, texts[0], tt.wantPage, tt.first)
			}
			for i := 1; i < len(texts); i++ {
				a, _ := strconv.Atoi(texts[i-1])
				b, _ := strconv.Atoi(texts[i])
				if b != a-1 {
					t.Fatalf("messages out of order or repeated: %v", texts)
				}
			}
		})
	}
	_, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C0SOC00001", Cursor: "bm9wZQ=="})
	if err == nil || err.Error() != "invalid_cursor" {
		t.Errorf("bad cursor: %v", err)
	}
}
