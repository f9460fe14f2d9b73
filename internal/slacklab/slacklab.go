// Package slacklab is riposte dev's Slack channel page (/lab/slack): the
// messages the Slack fake received, rendered from their Block Kit the way a
// person sees them (header, text with Slack's mrkdwn formatting, fields,
// context, buttons), with a "click as" user picker. A click is sent as Slack would send it: a block_actions
// payload, signed with the signing secret, POSTed to the real
// /slack/interactions handler, so the approval path is the production one.
//
// It is a development tool for the fake workspace only: whoever can open
// the page may click as any listed user.
package slacklab

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/slackfake"
)

// Options configures the page.
type Options struct {
	// Fake is the Slack fake whose channel is shown.
	Fake *slackfake.Server
	// InteractionsURL is where clicks go: the API's /slack/interactions.
	InteractionsURL string
	// SigningSecret signs the clicks (the API's SLACK_SIGNING_SECRET).
	SigningSecret string
	// Users are offered in the "click as" picker, with every member of the
	// fake's user groups.
	Users []string
	// Client sends the clicks (default: a client with a 30s timeout).
	Client *http.Client
}

// Handler serves GET /lab/slack and POST /lab/slack/click.
func Handler(o Options) http.Handler {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lab/slack", o.page)
	mux.HandleFunc("POST /lab/slack/click", o.click)
	// A click is signed with the Slack signing secret as any user the form
	// names: only the page itself may send one. Cross-origin posts (a web
	// page the developer visits) are refused by their Origin and
	// Sec-Fetch-Site headers, and a Host other than loopback (DNS
	// rebinding, which would make them same-origin) by LoopbackHostOnly,
	// as the codec and the Web UI of riposte dev are.
	return codec.LoopbackHostOnly(http.NewCrossOriginProtection().Handler(mux))
}

// users is the picker's list: Options.Users and the groups' members.
func (o Options) users() []string {
	seen := map[string]bool{}
	var out []string
	for _, u := range append(append([]string(nil), o.Users...), o.Fake.Members()...) {
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

// view models for the template.
type (
	pageView struct {
		Users    []string
		As       string
		Result   string
		Messages []messageView
		Groups   []groupView
	}
	groupView struct {
		ID      string
		Members string
	}
	messageView struct {
		Channel, TS string
		Updates     int
		// Text is shown for a message without blocks (slack.post_message).
		Text   string
		Blocks []blockView
	}
	blockView struct {
		Type    string
		Text    template.HTML
		Fields  []template.HTML
		Buttons []buttonView
	}
	buttonView struct {
		Label, ActionID, Value, Style string
	}
)

// text reads a Block Kit text object ({"type": "mrkdwn"|"plain_text",
// "text": ...}) as Slack shows it: plain text as typed, mrkdwn with
// Slack's formatting (mrkdwn.go), in which detection text, neutralised by
// slackapp, stays inert as it does in Slack.
func text(v any) template.HTML {
	m, _ := v.(map[string]any)
	s, _ := m["text"].(string)
	if m["type"] == "mrkdwn" {
		return mrkdwn(s)
	}
	return template.HTML(template.HTMLEscapeString(s)) //nolint:gosec // escaped
}

// label is a button's plain_text label.
func label(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["text"].(string)
	return s
}

func blocksView(blocks []map[string]any) []blockView {
	var out []blockView
	for _, b := range blocks {
		t, _ := b["type"].(string)
		bv := blockView{Type: t}
		switch t {
		case "header", "section":
			bv.Text = text(b["text"])
			if fs, ok := b["fields"].([]any); ok {
				for _, f := range fs {
					bv.Fields = append(bv.Fields, text(f))
				}
			}
		case "context":
			var parts []string
			if es, ok := b["elements"].([]any); ok {
				for _, e := range es {
					if s := text(e); s != "" {
						parts = append(parts, string(s))
					}
				}
			}
			bv.Text = template.HTML(strings.Join(parts, " · ")) //nolint:gosec // each part rendered by text
		case "actions":
			if es, ok := b["elements"].([]any); ok {
				for _, e := range es {
					m, _ := e.(map[string]any)
					if m["type"] != "button" {
						continue
					}
					bt := buttonView{Label: label(m["text"])}
					bt.ActionID, _ = m["action_id"].(string)
					bt.Value, _ = m["value"].(string)
					bt.Style, _ = m["style"].(string)
					bv.Buttons = append(bv.Buttons, bt)
				}
			}
		case "divider":
		default:
			bv.Text = text(b["text"])
		}
		out = append(out, bv)
	}
	return out
}

func (o Options) page(w http.ResponseWriter, r *http.Request) {
	v := pageView{Users: o.users(), As: r.URL.Query().Get("as"), Result: r.URL.Query().Get("result")}
	if v.As == "" && len(v.Users) > 0 {
		v.As = v.Users[0]
	}
	groups := o.Fake.Groups()
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		v.Groups = append(v.Groups, groupView{ID: id, Members: strings.Join(groups[id], ", ")})
	}
	msgs := o.Fake.Conversation()
	// Newest first, like scrolling up from the bottom of a channel.
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		mv := messageView{Channel: m.Channel, TS: m.TS, Updates: m.Updates, Blocks: blocksView(m.Blocks)}
		if len(m.Blocks) == 0 {
			// Posted with mrkdwn off and its text escaped (slackapp.PostText):
			// Slack shows the entities decoded and nothing formatted.
			mv.Text = entities.Replace(m.Text)
		}
		v.Messages = append(v.Messages, mv)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	if err := pageTmpl.Execute(w, v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// click sends one button click as a signed block_actions interaction and
// redirects back to the page with the handler's answer.
func (o Options) click(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	user, channel, ts, action, value := f.Get("user"), f.Get("channel"), f.Get("ts"), f.Get("action_id"), f.Get("value")
	if user == "" || channel == "" || ts == "" || action == "" {
		http.Error(w, "user, channel, ts and action_id are required", http.StatusBadRequest)
		return
	}
	status, answer, err := o.Click(user, channel, ts, action, value)
	result := fmt.Sprintf("%s clicked %s: /slack/interactions answered %d %s", user, action, status, strings.TrimSpace(answer))
	if err != nil {
		result = fmt.Sprintf("%s clicked %s: %v", user, action, err)
	}
	q := url.Values{"as": {user}, "result": {result}}
	http.Redirect(w, r, "/lab/slack?"+q.Encode(), http.StatusSeeOther)
}

// Click sends what Slack sends when user clicks the button actionID (with
// value) on the message at ts in channel, and returns the handler's answer.
func (o Options) Click(user, channel, ts, actionID, value string) (int, string, error) {
	payload := slackfake.BlockActionPayloadWithValue(user, value, actionID, channel, ts)
	body := slackfake.InteractionBody(payload)
	now := time.Now()
	req, err := http.NewRequest(http.MethodPost, o.InteractionsURL, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("X-Slack-Signature", slackfake.Sign(o.SigningSecret, now, body))
	resp, err := o.Client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("posting the interaction: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), nil
}

var pageTmpl = template.Must(template.New("slack").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Riposte lab — Slack</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f8f8f8;color:#1d1c1d}
header{background:#3f0e40;color:#fff;padding:12px 20px}
header h1{font-size:18px;margin:0}
main{max-width:820px;margin:0 auto;padding:16px}
.bar{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;margin-bottom:14px}
.msg{background:#fff;border:1px solid #ddd;border-left:4px solid #f5a623;border-radius:6px;padding:12px 14px;margin-bottom:12px}
.meta{color:#616061;font-size:12px;margin-bottom:6px}
.header{font-weight:700;font-size:17px;margin:4px 0}
.section{white-space:pre-wrap;margin:6px 0}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px;margin:6px 0}
.field{white-space:pre-wrap}
.context{color:#616061;font-size:13px;margin:6px 0;white-space:pre-wrap}
hr{border:none;border-top:1px solid #eee}
.actions form{display:inline}
button{border:1px solid #bbb;background:#fff;border-radius:4px;padding:6px 12px;margin-right:6px;cursor:pointer;font-weight:600}
button.primary{background:#007a5a;color:#fff;border-color:#007a5a}
button.danger{background:#e01e5a;color:#fff;border-color:#e01e5a}
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}
code{background:#f4f4f4;border:1px solid #e0e0e0;border-radius:3px;padding:0 3px;font-size:90%;color:#c01343}
a{color:#1264a3}
.result{background:#eef6ff;border:1px solid #b6d4fe;border-radius:6px;padding:8px 12px;margin-bottom:14px}
</style></head>
<body>
<header><h1>Slack <small>(the fake workspace of riposte dev: every channel, newest message first)</small></h1></header>
<main>
<div class="bar"><form method="get" action="/lab/slack">
<label>Click as <select name="as" id="as">{{range .Users}}<option value="{{.}}"{{if eq . $.As}} selected{{end}}>{{.}}</option>{{end}}</select></label>
<button type="submit">Switch user</button></form>
{{if .Groups}}<div class="meta">User groups: {{range .Groups}}{{.ID}} ({{.Members}}) {{end}}</div>{{end}}
</div>
{{if .Result}}<div class="result" id="result">{{.Result}}</div>{{end}}
{{if not .Messages}}<p>No messages yet. Submit a detection whose playbook needs an approval.</p>{{end}}
{{range .Messages}}{{$m := .}}
<div class="msg" data-ts="{{.TS}}">
<div class="meta">{{.Channel}} · ts {{.TS}}{{if .Updates}} · edited ({{.Updates}}){{end}}</div>
{{if .Text}}<div class="section">{{.Text}}</div>{{end}}
{{range .Blocks}}
{{if eq .Type "header"}}<div class="header">{{.Text}}</div>
{{else if eq .Type "section"}}{{if .Text}}<div class="section">{{.Text}}</div>{{end}}{{if .Fields}}<div class="fields">{{range .Fields}}<div class="field">{{.}}</div>{{end}}</div>{{end}}
{{else if eq .Type "context"}}<div class="context">{{.Text}}</div>
{{else if eq .Type "divider"}}<hr>
{{else if eq .Type "actions"}}<div class="actions">{{range .Buttons}}<form method="post" action="/lab/slack/click">
<input type="hidden" name="channel" value="{{$m.Channel}}"><input type="hidden" name="ts" value="{{$m.TS}}">
<input type="hidden" name="action_id" value="{{.ActionID}}"><input type="hidden" name="value" value="{{.Value}}">
<input type="hidden" name="user" value="{{$.As}}">
<button type="submit" class="{{.Style}}" data-action="{{.ActionID}}">{{.Label}}</button></form>{{end}}</div>
{{else if .Text}}<div class="section">{{.Text}}</div>{{end}}
{{end}}
</div>
{{end}}
</main></body></html>
`))
