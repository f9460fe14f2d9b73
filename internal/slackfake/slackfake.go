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
	"sync"
	"time"
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

	// HistoryPageMax caps the messages conversations.history returns a
	// page, and is its default limit. Default 15: Slack's "Rate limit
	// changes for non-Marketplace apps" (changelog, 2025-05-29,
	// api.slack.com/changelog/2025-05-terms-rate-limit-update-and-faq)
	// reduced "the maximum and default for the limit parameter" to 15 for
	// apps not approved for the Marketplace; the method's documentation
	// also warns that fewer than limit may come back although there are
	// more. 0 means Slack's usual default 100 and maximum 999. Set it
	// before the first call.
	HistoryPageMax int

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every recorded event
	calls      []Call
	channels   map[string]bool // nil: every channel exists
	groups     map[string][]string
	users      map[string]map[string]any // users.info answers set by SetUser
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
	appRevoked bool // RevokeAppToken: apps.connections.open answers token_revoked
	socketOff  bool // DisableSocketMode: no new Socket Mode connection
	envelopeNo int
	envelopes  map[string]map[string]any // pushed, by envelope_id (Redeliver)
	scopes     []string                  // the bot token's, sent as X-OAuth-Scopes
}

// ManifestScopes are the bot scopes of docs/slack-app-manifest.yaml, the
// fake bot token's scopes until SetScopes changes them.
var ManifestScopes = []string{"chat:write", "chat:write.public", "usergroups:read", "channels:history", "groups:history", "users:read"}

// SetScopes sets the bot token's scopes, which every Web API answer to
// it lists in its X-OAuth-Scopes header, as Slack's do.
func (s *Server) SetScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = append([]string(nil), scopes...)
}

// New starts a fake on a loopback port. Close it when done.
func New() *Server {
	s := &Server{
		PingInterval:   5 * time.Second,
		HistoryPageMax: 15,
		changed:        make(chan struct{}),
		groups:         map[string][]string{},
		users:          map[string]map[string]any{},
		limits:         map[string]*rateLimit{},
		failures:       map[string][]string{},
		messages:       map[string]bool{},
		lose:           map[string]int{},
		tickets:        map[string]bool{},
		botToken:       BotToken,
		appToken:       AppToken,
		scopes:         ManifestScopes,
		seq:            time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Unix() * 1_000_000,
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

// SetUser sets what users.info answers for user id: fields (is_restricted
// true for a guest, deleted, is_bot, team_id…) over an active full member
// of the fake workspace, which is also the answer for any user not set;
// nil fields: user_not_found.
func (s *Server) SetUser(id string, fields map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = fields
	if fields == nil {
		s.users[id] = map[string]any{}
		s.users[id]["_not_found"] = true
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
