// Package slackfake is a fake Slack Web API and Socket Mode endpoint for
// tests. It follows the shapes Slack documents: form- or JSON-encoded
// requests, {"ok":false,"error":...} answers with HTTP 200, 429 with
// Retry-After when rate limited, and a Socket Mode WebSocket that says
// hello, delivers envelopes and expects {"envelope_id":...} acks. Every
// call is recorded for assertions.
//
// It also builds realistic interaction payloads and signs them the way
// Slack does, for tests of an interactivity endpoint.
package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Identities of the fake workspace.
const (
	BotToken  = "xoxb-fake-bot-token"
	AppToken  = "xapp-1-fake-app-token"
	TeamID    = "T0FAKE0001"
	AppID     = "A0FAKE0001"
	BotID     = "B0FAKE0001"
	BotUserID = "U0FAKEBOT1"
)

// Call is one recorded Web API call.
type Call struct {
	Method string
	// Params holds every parameter: form values, or the JSON body's
	// top-level fields (strings as they are, anything else as JSON).
	Params map[string]string
	// Blocks are the message's blocks followed by its attachments' blocks,
	// decoded as generic JSON.
	Blocks []map[string]any
	// Attachments are the message's attachments, decoded.
	Attachments []map[string]any
	// View is views.open's view, decoded.
	View map[string]any
	// Error is the error code answered, "" when ok.
	Error string
	At    time.Time
}

// Ack is one Socket Mode acknowledgement received from the app.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage
	At         time.Time
}

type rateLimit struct {
	retryAfter time.Duration
	times      int
}

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	srv *httptest.Server

	// PingInterval is how often the Socket Mode endpoint pings the app
	// (slack-go reconnects when it hears nothing for 30s). Set it before
	// the app connects. Default 5s.
	PingInterval time.Duration

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every recorded event
	calls      []Call
	channels   map[string]bool // nil: every channel exists
	groups     map[string][]string
	limits     map[string]*rateLimit
	failures   map[string][]string
	messages   map[string]bool // channel + "/" + ts
	history    []posted        // chat.postMessage messages, in order
	lose       map[string]int  // method -> answers to lose (LoseNext)
	seq        int64
	tickets    map[string]bool
	conns      []*wsConn
	opened     int
	acks       []Ack
	closed     bool
	botToken   string
	appToken   string
	envelopeNo int
}

type wsConn struct {
	c    *websocket.Conn
	wmu  sync.Mutex
	done chan struct{}
}

func (w *wsConn) write(v any) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return w.c.WriteJSON(v)
}

// New starts a fake on a loopback port. Close it when done.
func New() *Server {
	s := &Server{
		PingInterval: 5 * time.Second,
		changed:      make(chan struct{}),
		groups:       map[string][]string{},
		limits:       map[string]*rateLimit{},
		failures:     map[string][]string{},
		messages:     map[string]bool{},
		lose:         map[string]int{},
		tickets:      map[string]bool{},
		botToken:     BotToken,
		appToken:     AppToken,
		seq:          time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Unix() * 1_000_000,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.api)
	mux.HandleFunc("/link/", s.socket)
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the Web API base URL, ending in /api/ (for slack.OptionAPIURL).
func (s *Server) URL() string { return s.srv.URL + "/api/" }

// Close closes Socket Mode connections and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.c.Close()
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// SetChannels makes only these channels exist: posting elsewhere answers
// channel_not_found. By default every channel exists.
func (s *Server) SetChannels(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels = map[string]bool{}
	for _, id := range ids {
		s.channels[id] = true
	}
}

// SetGroup defines a user group (S...) and its members.
func (s *Server) SetGroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = append([]string(nil), members...)
}

// RateLimit makes the next `times` calls of method answer 429 with
// Retry-After (whole seconds, at least 1).
func (s *Server) RateLimit(method string, retryAfter time.Duration, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[method] = &rateLimit{retryAfter: retryAfter, times: times}
}

// FailNext makes the next call of method answer {"ok":false,"error":code}.
// Calls queue up: FailNext twice fails the next two calls.
func (s *Server) FailNext(method, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], code)
}

// Calls returns every recorded call.
func (s *Server) Calls() []Call { return s.callsOf("") }

// Messages returns the chat.postMessage calls.
func (s *Server) Messages() []Call { return s.callsOf("chat.postMessage") }

// Updates returns the chat.update calls.
func (s *Server) Updates() []Call { return s.callsOf("chat.update") }

// Ephemerals returns the chat.postEphemeral calls.
func (s *Server) Ephemerals() []Call { return s.callsOf("chat.postEphemeral") }

// ViewsOpened returns the views.open calls.
func (s *Server) ViewsOpened() []Call { return s.callsOf("views.open") }

func (s *Server) callsOf(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Acks returns the Socket Mode acks received.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// WaitFor waits until cond (called with the lock released, any number of
// times) is true or ctx is done.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitCalls waits until method has been called at least n times.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	var calls []Call
	err := s.WaitFor(ctx, func() bool {
		calls = s.callsOf(method)
		return len(calls) >= n
	})
	if err != nil {
		return calls, fmt.Errorf("waiting for %d %s calls, got %d: %w", n, method, len(calls), err)
	}
	return calls, nil
}

// notify wakes waiters; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

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
		ts := s.nextTS()
		s.messages[ch+"/"+ts] = true
		msg := s.messageJSON(params, raw, ts)
		if md := jsonField(params, raw, "metadata"); md != nil {
			msg["metadata"] = md
		}
		s.history = append(s.history, posted{channel: ch, ts: ts, msg: msg})
		return ok(answer{"channel": ch, "ts": ts, "message": s.messageJSON(params, raw, ts)})
	case "conversations.history":
		// Channel IDs only, newest first, metadata only with
		// include_all_metadata (api.slack.com/methods/conversations.history).
		ch := params["channel"]
		if code := s.checkChannel(ch); code != "" || !isChannelID(ch) {
			return fail("channel_not_found")
		}
		limit, _ := strconv.Atoi(params["limit"])
		if limit <= 0 || limit > 999 {
			limit = 100
		}
		msgs := []map[string]any{}
		for i := len(s.history) - 1; i >= 0 && len(msgs) < limit; i-- {
			h := s.history[i]
			if h.channel != ch || (params["oldest"] != "" && h.ts < params["oldest"]) {
				continue
			}
			m := s.messageJSON(map[string]string{"text": h.msg["text"].(string)}, nil, h.ts)
			if params["include_all_metadata"] == "1" && h.msg["metadata"] != nil {
				m["metadata"] = h.msg["metadata"]
			}
			msgs = append(msgs, m)
		}
		return ok(answer{"messages": msgs, "has_more": false})
	case "chat.update":
		ch, ts := params["channel"], params["ts"]
		if code := s.checkChannel(ch); code != "" {
			return fail(code)
		}
		if !s.messages[ch+"/"+ts] {
			return fail("message_not_found")
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

func (s *Server) checkChannel(ch string) string {
	if ch == "" {
		return "channel_not_found"
	}
	if s.channels != nil && !s.channels[ch] {
		return "channel_not_found"
	}
	return ""
}

// nextTS returns a fresh message timestamp; s.mu must be held.
func (s *Server) nextTS() string {
	s.seq++
	return fmt.Sprintf("%d.%06d", s.seq/1_000_000, s.seq%1_000_000)
}

func (s *Server) messageJSON(params map[string]string, raw map[string]json.RawMessage, ts string) map[string]any {
	m := map[string]any{"type": "message", "subtype": "bot_message", "text": params["text"], "ts": ts,
		"bot_id": BotID, "user": BotUserID, "team": TeamID}
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

// ---- Socket Mode ----

func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	ok := s.tickets[ticket] && !s.closed
	delete(s.tickets, ticket) // tickets are single-use
	s.mu.Unlock()
	if !ok {
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}
	upgrader := websocket.Upgrader{
		// slack-go sends Origin: https://api.slack.com.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn := &wsConn{c: c, done: make(chan struct{})}
	s.mu.Lock()
	s.conns = append(s.conns, conn)
	s.opened++
	n := len(s.conns)
	s.notify()
	s.mu.Unlock()
	defer func() {
		close(conn.done)
		_ = c.Close()
		s.mu.Lock()
		for i, x := range s.conns {
			if x == conn {
				s.conns = append(s.conns[:i], s.conns[i+1:]...)
				break
			}
		}
		s.notify()
		s.mu.Unlock()
	}()

	hello := map[string]any{
		"type":            "hello",
		"num_connections": n,
		"debug_info":      map[string]any{"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID},
	}
	if err := conn.write(hello); err != nil {
		return
	}
	go s.ping(conn)

	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		s.acks = append(s.acks, Ack{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload, At: time.Now()})
		s.notify()
		s.mu.Unlock()
	}
}

func (s *Server) ping(conn *wsConn) {
	interval := s.PingInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-conn.done:
			return
		case <-t.C:
			conn.wmu.Lock()
			err := conn.c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
			conn.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// Connected reports how many Socket Mode connections are open.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// ConnectionsOpened counts the Socket Mode connections ever opened.
func (s *Server) ConnectionsOpened() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened
}

// WaitConnected waits for a Socket Mode connection.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.WaitFor(ctx, func() bool { return s.Connected() > 0 })
}

// PushEnvelope sends an envelope of the given type (interactive,
// events_api, slash_commands) to the newest connection and returns its
// envelope id.
func (s *Server) PushEnvelope(typ string, payload any) (string, error) {
	s.mu.Lock()
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return "", fmt.Errorf("slackfake: no Socket Mode connection")
	}
	conn := s.conns[len(s.conns)-1]
	s.envelopeNo++
	id := fmt.Sprintf("fake-envelope-%04d", s.envelopeNo)
	s.mu.Unlock()
	env := map[string]any{
		"envelope_id":              id,
		"type":                     typ,
		"payload":                  payload,
		"accepts_response_payload": typ != "events_api",
	}
	if err := conn.write(env); err != nil {
		return "", err
	}
	return id, nil
}

// PushInteractive sends an interactive envelope (a block_actions or
// view_submission payload) and returns its envelope id.
func (s *Server) PushInteractive(payload any) (string, error) {
	return s.PushEnvelope("interactive", payload)
}

// PushDisconnect asks the app to reconnect, as Slack does before it
// refreshes a connection.
func (s *Server) PushDisconnect() error {
	s.mu.Lock()
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return fmt.Errorf("slackfake: no Socket Mode connection")
	}
	conn := s.conns[len(s.conns)-1]
	s.mu.Unlock()
	return conn.write(map[string]any{"type": "disconnect", "reason": "refresh_requested",
		"debug_info": map[string]any{"host": "applink-fake"}})
}

// WaitAck waits for the ack of an envelope.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var found Ack
	err := s.WaitFor(ctx, func() bool {
		for _, a := range s.Acks() {
			if a.EnvelopeID == envelopeID {
				found = a
				return true
			}
		}
		return false
	})
	if err != nil {
		return Ack{}, fmt.Errorf("no ack for envelope %s: %w", envelopeID, err)
	}
	return found, nil
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
