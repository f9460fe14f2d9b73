package slackfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// ---- Web API ----

type answer map[string]any

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	params, raw, err := decodeParams(r)
	call := Call{Method: method, Params: params, At: time.Now()}
	if err == nil {
		call.Blocks, call.Attachments, call.View = decodeRich(params, raw)
	}

	// The call is recorded before the answer is written, so a client that
	// got its answer always finds its call recorded.
	s.mu.Lock()
	status, retryAfter, a := s.answer(r, method, params, raw, call.View, err)
	if a["ok"] == false {
		call.Error, _ = a["error"].(string)
	}
	s.calls = append(s.calls, call)
	s.notify()
	lost := s.lose[method] > 0 && a["ok"] == true
	if lost {
		s.lose[method]--
	}
	tok := bearer(r)
	if tok == "" {
		tok = params["token"]
	}
	if tok == s.botToken {
		// Slack lists the token's scopes on every answer.
		w.Header().Set("X-OAuth-Scopes", strings.Join(s.scopes, ","))
	}
	s.mu.Unlock()
	if lost {
		// Done, but the answer never arrives whole: a gateway error.
		http.Error(w, "upstream request timeout", http.StatusGatewayTimeout)
		return
	}

	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	writeAnswer(w, status, a)
}

// answer computes the reply to one call; s.mu must be held.
func (s *Server) answer(r *http.Request, method string, params map[string]string, raw map[string]json.RawMessage, view map[string]any, decodeErr error) (status, retryAfter int, a answer) {
	if rl := s.limits[method]; rl != nil && rl.times > 0 {
		rl.times--
		secs := int((rl.retryAfter + time.Second - 1) / time.Second)
		if secs < 1 {
			secs = 1
		}
		return http.StatusTooManyRequests, secs, answer{"ok": false, "error": "ratelimited"}
	}
	fail := func(code string) (int, int, answer) {
		return http.StatusOK, 0, answer{"ok": false, "error": code}
	}
	ok := func(a answer) (int, int, answer) {
		a["ok"] = true
		return http.StatusOK, 0, a
	}
	if decodeErr != nil {
		return fail("invalid_form_data")
	}
	token := bearer(r)
	if token == "" {
		token = params["token"]
	}
	switch {
	case token == "":
		return fail("not_authed")
	case method == "apps.connections.open":
		if token == s.botToken {
			return fail("not_allowed_token_type")
		}
		if token != s.appToken {
			return fail("invalid_auth")
		}
		if s.appRevoked {
			return fail("token_revoked")
		}
	case token == s.appToken:
		return fail("not_allowed_token_type")
	case token != s.botToken:
		return fail("invalid_auth")
	}
	if q := s.failures[method]; len(q) > 0 {
		s.failures[method] = q[1:]
		return fail(q[0])
	}

	switch method {
	case "auth.test":
		return ok(answer{"url": "https://fake.slack.invalid/", "team": "Fake", "user": "riposte",
			"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false})
	case "chat.postMessage":
		ch := params["channel"]
		if code := s.checkChannel(ch); code != "" {
			return fail(code)
		}
		if params["text"] == "" && params["blocks"] == "" && params["attachments"] == "" {
			return fail("no_text")
		}
		if tooLong(params["text"]) {
			return fail("msg_too_long")
		}
		ts := s.nextTS()
		s.messages[ch+"/"+ts] = true
		msg := s.messageJSON(params, raw, ts)
		if md := jsonField(params, raw, "metadata"); md != nil {
			msg["metadata"] = md
		}
		s.history = append(s.history, posted{channel: ch, ts: ts, msg: msg})
		return ok(answer{"channel": ch, "ts": ts, "message": s.messageJSON(params, raw, ts)})
	case "conversations.history":
		return s.conversationsHistory(params)
	case "chat.update":
		ch, ts := params["channel"], params["ts"]
		if code := s.checkChannel(ch); code != "" {
			return fail(code)
		}
		if !s.messages[ch+"/"+ts] {
			return fail("message_not_found")
		}
		if tooLong(params["text"]) {
			return fail("msg_too_long")
		}
		return ok(answer{"channel": ch, "ts": ts, "text": params["text"], "message": s.messageJSON(params, raw, ts)})
	case "chat.postEphemeral":
		if code := s.checkChannel(params["channel"]); code != "" {
			return fail(code)
		}
		if params["user"] == "" {
			return fail("user_not_in_channel")
		}
		return ok(answer{"message_ts": s.nextTS()})
	case "users.info":
		id := params["user"]
		if id == "" {
			return fail("user_not_found")
		}
		set := s.users[id]
		if set["_not_found"] == true {
			return fail("user_not_found")
		}
		u := map[string]any{"id": id, "team_id": TeamID, "name": strings.ToLower(id), "deleted": false,
			"is_bot": false, "is_app_user": false, "is_restricted": false, "is_ultra_restricted": false, "is_stranger": false,
			"profile": map[string]any{"real_name": strings.ToLower(id), "team": TeamID}}
		for k, v := range set {
			u[k] = v
		}
		return ok(answer{"user": u})
	case "usergroups.users.list":
		members, found := s.groups[params["usergroup"]]
		if !found {
			return fail("no_such_subteam")
		}
		if members == nil {
			members = []string{}
		}
		return ok(answer{"users": members})
	case "views.open":
		if params["trigger_id"] == "" || view == nil {
			return fail("invalid_arguments")
		}
		out := map[string]any{}
		for k, v := range view {
			out[k] = v
		}
		s.seq++
		out["id"] = fmt.Sprintf("V%010d", s.seq%10_000_000_000)
		out["team_id"] = TeamID
		out["app_id"] = AppID
		out["bot_id"] = BotID
		out["state"] = map[string]any{"values": map[string]any{}}
		out["hash"] = fmt.Sprintf("%d.fakehash", s.seq)
		return ok(answer{"view": out})
	case "apps.connections.open":
		s.seq++
		ticket := fmt.Sprintf("fake-ticket-%d", s.seq)
		s.tickets[ticket] = true
		u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link/?ticket=" + url.QueryEscape(ticket) + "&app_id=" + AppID
		return ok(answer{"url": u})
	}
	return fail("unknown_method")
}

// MaxTextLen is Slack's limit on a message's text, in characters of the
// text as it arrives (escaped: &amp; &lt; &gt;), counted in UTF-16 units.
const MaxTextLen = 40000

// tooLong reports whether a message text is over MaxTextLen: Slack
// answers msg_too_long.
func tooLong(text string) bool {
	return len(utf16.Encode([]rune(text))) > MaxTextLen
}

func (s *Server) checkChannel(ch string) string {
	if ch == "" {
		return "channel_not_found"
	}
	if s.channels != nil && !s.channels[ch] {
		return "channel_not_found"
	}
	return ""
}

// nextTS returns a fresh message timestamp; s.mu must be held. Like
// Slack's, it is the Unix time in microseconds, unique in the workspace,
// so oldest and latest bound history the way they do on Slack.
func (s *Server) nextTS() string {
	s.seq = max(s.seq+1, time.Now().UnixMicro())
	return fmt.Sprintf("%d.%06d", s.seq/1_000_000, s.seq%1_000_000)
}

// conversationsHistory answers conversations.history the way
// docs.slack.dev/reference/methods/conversations.history describes it:
// channel IDs only; newest first; only messages after oldest and before
// latest (inclusive=1 includes those timestamps); metadata only with
// include_all_metadata; at most limit messages a page (see HistoryPageMax)
// with has_more and response_metadata.next_cursor for the next page, which
// cursor asks for. s.mu must be held.
func (s *Server) conversationsHistory(params map[string]string) (int, int, answer) {
	fail := func(code string) (int, int, answer) {
		return http.StatusOK, 0, answer{"ok": false, "error": code}
	}
	ch := params["channel"]
	if code := s.checkChannel(ch); code != "" || !isChannelID(ch) {
		return fail("channel_not_found")
	}
	maxLimit, limit := 999, 100
	if s.HistoryPageMax > 0 && s.HistoryPageMax < maxLimit {
		maxLimit, limit = s.HistoryPageMax, min(limit, s.HistoryPageMax)
	}
	if params["limit"] != "" {
		n, err := strconv.Atoi(params["limit"])
		if err != nil || n < 0 {
			return fail("invalid_arguments")
		}
		if n > 0 {
			limit = min(n, maxLimit)
		}
	}
	inclusive := params["inclusive"] == "1" || params["inclusive"] == "true"
	bound := func(name string) (int64, bool, bool) {
		if params[name] == "" {
			return 0, false, true
		}
		t, ok := tsMicros(params[name])
		return t, true, ok
	}
	oldest, hasOldest, ok := bound("oldest")
	if !ok {
		return fail("invalid_ts_oldest")
	}
	latest, hasLatest, ok := bound("latest")
	if !ok {
		return fail("invalid_ts_latest")
	}
	from, hasFrom := int64(0), false // the cursor: the newest ts of this page
	if c := params["cursor"]; c != "" {
		raw, err := base64.StdEncoding.DecodeString(c)
		next, isNext := strings.CutPrefix(string(raw), "next_ts:")
		n, perr := strconv.ParseInt(next, 10, 64)
		if err != nil || !isNext || perr != nil {
			return fail("invalid_cursor")
		}
		from, hasFrom = n, true
	}
	msgs := []map[string]any{}
	nextCursor := ""
	for i := len(s.history) - 1; i >= 0; i-- {
		h := s.history[i]
		t, _ := tsMicros(h.ts)
		if h.channel != ch || hasFrom && t > from ||
			hasLatest && (t > latest || t == latest && !inclusive) {
			continue
		}
		if hasOldest && (t < oldest || t == oldest && !inclusive) {
			break // older still: history is in posting order
		}
		if len(msgs) == limit {
			nextCursor = base64.StdEncoding.EncodeToString([]byte("next_ts:" + strconv.FormatInt(t, 10)))
			break
		}
		m := s.messageJSON(map[string]string{"text": h.msg["text"].(string)}, nil, h.ts)
		for _, k := range []string{"bot_id", "app_id", "bot_profile", "user"} {
			// Who posted it: this app, or another (PostAsOtherApp).
			if v, ok := h.msg[k]; ok {
				m[k] = v
			} else {
				delete(m, k)
			}
		}
		if params["include_all_metadata"] == "1" && h.msg["metadata"] != nil {
			m["metadata"] = h.msg["metadata"]
		}
		msgs = append(msgs, m)
	}
	a := answer{"ok": true, "messages": msgs, "has_more": nextCursor != ""}
	if nextCursor != "" {
		a["response_metadata"] = map[string]any{"next_cursor": nextCursor}
	}
	return http.StatusOK, 0, a
}

// tsMicros reads a message timestamp ("1767323045.000100", or whole
// seconds) as microseconds.
func tsMicros(ts string) (int64, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	if len(frac) > 6 {
		return 0, false
	}
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, false
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64); err != nil {
			return 0, false
		}
	}
	return s*1_000_000 + f, true
}

func (s *Server) messageJSON(params map[string]string, raw map[string]json.RawMessage, ts string) map[string]any {
	m := map[string]any{"type": "message", "subtype": "bot_message", "text": params["text"], "ts": ts,
		"bot_id": BotID, "app_id": AppID, "user": BotUserID, "team": TeamID,
		"bot_profile": map[string]any{"id": BotID, "app_id": AppID, "name": "Riposte", "team_id": TeamID}}
	if v := jsonField(params, raw, "blocks"); v != nil {
		m["blocks"] = v
	}
	if v := jsonField(params, raw, "attachments"); v != nil {
		m["attachments"] = v
	}
	return m
}

func jsonField(params map[string]string, raw map[string]json.RawMessage, name string) any {
	var data []byte
	if r, ok := raw[name]; ok {
		data = r
	} else if p := params[name]; p != "" {
		data = []byte(p)
	}
	if data == nil {
		return nil
	}
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	return v
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	return ""
}

// decodeParams reads a form- or JSON-encoded request (query parameters
// count too, as with GET).
func decodeParams(r *http.Request) (map[string]string, map[string]json.RawMessage, error) {
	params := map[string]string{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/json") {
		var raw map[string]json.RawMessage
		dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 4<<20))
		if err := dec.Decode(&raw); err != nil {
			if r.ContentLength == 0 {
				return params, nil, nil // apps.connections.open sends no body
			}
			return params, nil, err
		}
		for k, v := range raw {
			var str string
			if json.Unmarshal(v, &str) == nil {
				params[k] = str
			} else {
				params[k] = string(v)
			}
		}
		return params, raw, nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 4<<20)
	if err := r.ParseForm(); err != nil {
		return params, nil, err
	}
	for k, v := range r.PostForm {
		params[k] = v[0]
	}
	return params, nil, nil
}

func decodeRich(params map[string]string, raw map[string]json.RawMessage) (blocks, attachments []map[string]any, view map[string]any) {
	if v, ok := jsonField(params, raw, "blocks").([]any); ok {
		blocks = append(blocks, asMaps(v)...)
	}
	if v, ok := jsonField(params, raw, "attachments").([]any); ok {
		attachments = asMaps(v)
		for _, a := range attachments {
			if bs, ok := a["blocks"].([]any); ok {
				blocks = append(blocks, asMaps(bs)...)
			}
		}
	}
	if v, ok := jsonField(params, raw, "view").(map[string]any); ok {
		view = v
	}
	return blocks, attachments, view
}

func asMaps(xs []any) []map[string]any {
	var out []map[string]any
	for _, x := range xs {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func writeAnswer(w http.ResponseWriter, status int, a answer) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

// PostAsOtherApp adds a message another app (appID, botID) posted to
// channel's history, with metadata (event_type and event_payload) when
// given, as conversations.history with include_all_metadata shows it. It
// returns the message's ts.
func (s *Server) PostAsOtherApp(channel, appID, botID, text string, metadata map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.nextTS()
	msg := map[string]any{"type": "message", "subtype": "bot_message", "text": text, "ts": ts,
		"bot_id": botID, "app_id": appID, "team": TeamID,
		"bot_profile": map[string]any{"id": botID, "app_id": appID, "name": "other", "team_id": TeamID}}
	if metadata != nil {
		msg["metadata"] = metadata
	}
	s.history = append(s.history, posted{channel: channel, ts: ts, msg: msg})
	s.notify()
	return ts
}

// posted is a message chat.postMessage stored, with its metadata.
type posted struct {
	channel, ts string
	msg         map[string]any
}

// LoseNext makes the next `times` successful calls of method happen but
// answer HTTP 504, as when a gateway times out after Slack acted.
func (s *Server) LoseNext(method string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose[method] += times
}

// Posted counts the messages chat.postMessage stored in a channel.
func (s *Server) Posted(channel string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.history {
		if h.channel == channel {
			n++
		}
	}
	return n
}

// isChannelID reports whether ch looks like a conversation ID (C…, G…, D…).
func isChannelID(ch string) bool {
	if len(ch) < 9 || !strings.ContainsRune("CGD", rune(ch[0])) {
		return false
	}
	for _, r := range ch {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
