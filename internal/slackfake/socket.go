package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ---- Socket Mode ----

// wsConn is one Socket Mode connection; writes are serialized.
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

func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	ok := s.tickets[ticket] && !s.closed && !s.socketOff
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
	s.mu.Lock()
	if s.envelopes == nil {
		s.envelopes = map[string]map[string]any{}
	}
	s.envelopes[id] = env
	s.mu.Unlock()
	if err := conn.write(env); err != nil {
		return "", err
	}
	return id, nil
}

// Redeliver sends envelope id again to the newest connection, as Slack
// does with an envelope whose ack it did not get in time (or got on a
// connection that closed): the same envelope_id and payload, with
// retry_attempt counting the redeliveries (1, 2, …) and retry_reason
// saying why. See testdata/README.md of internal/slackapp.
func (s *Server) Redeliver(id, reason string) error {
	s.mu.Lock()
	env, ok := s.envelopes[id]
	if !ok || len(s.conns) == 0 {
		s.mu.Unlock()
		return fmt.Errorf("slackfake: no envelope %s or no Socket Mode connection", id)
	}
	conn := s.conns[len(s.conns)-1]
	again := maps.Clone(env)
	n, _ := env["retry_attempt"].(int)
	again["retry_attempt"], again["retry_reason"] = n+1, reason
	s.envelopes[id] = again
	s.mu.Unlock()
	return conn.write(again)
}

// PushInteractive sends an interactive envelope (a block_actions or
// view_submission payload) and returns its envelope id.
func (s *Server) PushInteractive(payload any) (string, error) {
	return s.PushEnvelope("interactive", payload)
}

// PushDisconnect asks the app to reconnect, as Slack does before it
// refreshes a connection.
func (s *Server) PushDisconnect() error { return s.PushDisconnectReason("refresh_requested") }

// PushDisconnectReason sends a disconnect message with reason to the newest
// connection (refresh_requested, warning, link_disabled).
func (s *Server) PushDisconnectReason(reason string) error {
	s.mu.Lock()
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return fmt.Errorf("slackfake: no Socket Mode connection")
	}
	conn := s.conns[len(s.conns)-1]
	s.mu.Unlock()
	return conn.write(map[string]any{"type": "disconnect", "reason": reason,
		"debug_info": map[string]any{"host": "applink-fake"}})
}

// RevokeAppToken revokes the app-level token, as an admin who regenerates
// or revokes it does: apps.connections.open answers token_revoked from
// then on. Open connections stay open until Slack next refreshes them
// (PushDisconnect).
func (s *Server) RevokeAppToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appRevoked = true
}

// DisableSocketMode turns Socket Mode off for the app, as its settings
// page does: every connection is told disconnect with reason
// link_disabled (Slack's "do not reconnect") and closed, and no new
// connection opens (what Slack answers to apps.connections.open then is
// not documented; here the WebSocket is refused).
func (s *Server) DisableSocketMode() {
	s.mu.Lock()
	s.socketOff = true
	conns := append([]*wsConn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.write(map[string]any{"type": "disconnect", "reason": "link_disabled",
			"debug_info": map[string]any{"host": "applink-fake"}})
		_ = c.c.Close()
	}
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
