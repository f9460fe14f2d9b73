package slackfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/riposte-dev/riposte/internal/safefile"
)

// stateVersion is the format SaveState writes.
const stateVersion = 1

// savedState is what SaveState writes: the channel's messages as posted
// and the chat.update calls applied to them, so a fake started again
// (riposte dev restarted) still shows them and still takes their updates.
type savedState struct {
	Version  int            `json:"version"`
	Seq      int64          `json:"seq"`
	Messages []savedMessage `json:"messages"`
	Updates  []Call         `json:"updates"`
}

type savedMessage struct {
	Channel string         `json:"channel"`
	TS      string         `json:"ts"`
	Msg     map[string]any `json:"msg"`
}

// SaveState writes the posted messages and their updates (not the other
// calls, rate limits or scripted failures) as JSON.
func (s *Server) SaveState(w io.Writer) error {
	s.mu.Lock()
	st := savedState{Version: stateVersion, Seq: s.seq}
	for _, h := range s.history {
		if s.messages[h.channel+"/"+h.ts] { // PostAsOtherApp's are not ours to update
			st.Messages = append(st.Messages, savedMessage{Channel: h.channel, TS: h.ts, Msg: h.msg})
		}
	}
	for _, c := range s.calls {
		if c.Method == "chat.update" && c.Error == "" {
			st.Updates = append(st.Updates, c)
		}
	}
	s.mu.Unlock()
	return json.NewEncoder(w).Encode(st)
}

// LoadState restores what SaveState wrote into a fake that has posted
// nothing yet.
func (s *Server) LoadState(r io.Reader) error {
	var st savedState
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return fmt.Errorf("reading the Slack fake's state: %w", err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("the Slack fake's state has version %d, want %d", st.Version, stateVersion)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.history) > 0 {
		return errors.New("the Slack fake has posted messages already: load its state before it starts")
	}
	for _, m := range st.Messages {
		s.messages[m.Channel+"/"+m.TS] = true
		s.history = append(s.history, posted{channel: m.Channel, ts: m.TS, msg: m.Msg})
	}
	s.calls = append(s.calls, st.Updates...)
	s.seq = max(s.seq, st.Seq)
	s.notify()
	return nil
}

// Persist loads the fake's state from file (when it exists) and writes it
// there again after every change, until stop is called (which writes it a
// last time). The file is replaced whole (safefile.WriteFile), so a crash
// leaves the previous state; a write that fails is
// passed to onError (nil: ignored).
func (s *Server) Persist(file string, onError func(error)) (stop func(), err error) {
	if f, err := os.Open(file); err == nil {
		err = s.LoadState(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	report := func(err error) {
		if err != nil && onError != nil {
			onError(fmt.Errorf("saving the Slack fake's messages to %s: %w", file, err))
		}
	}
	save := func() error {
		var b bytes.Buffer
		if err := s.SaveState(&b); err != nil {
			return err
		}
		return safefile.WriteFile(file, b.Bytes(), 0o600)
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			s.mu.Lock()
			changed := s.changed
			s.mu.Unlock()
			select {
			case <-done:
				return
			case <-changed:
			}
			// A burst of calls (a gate's post, then its updates) is
			// written once.
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			report(save())
		}
	}()
	return func() {
		close(done)
		<-finished
		report(save())
	}, nil
}
