package slackfake

import (
	"encoding/json"
	"sort"
)

// Message is a channel message as a person sees it now: the latest
// chat.update applied to what chat.postMessage posted.
type Message struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
	Text    string `json:"text"`
	// Blocks are the message's blocks followed by its attachments' blocks.
	Blocks []map[string]any `json:"blocks"`
	// Updates counts the chat.update calls applied.
	Updates int `json:"updates"`
}

// Conversation returns every posted message in posting order, each with
// its latest content.
func (s *Server) Conversation() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	idx := map[string]int{}
	for _, h := range s.history {
		m := Message{Channel: h.channel, TS: h.ts}
		m.Text, _ = h.msg["text"].(string)
		m.Blocks = richBlocks(h.msg["blocks"], h.msg["attachments"])
		idx[h.channel+"/"+h.ts] = len(out)
		out = append(out, m)
	}
	for _, c := range s.calls {
		if c.Method != "chat.update" || c.Error != "" {
			continue
		}
		i, ok := idx[c.Params["channel"]+"/"+c.Params["ts"]]
		if !ok {
			continue
		}
		out[i].Text = c.Params["text"]
		out[i].Blocks = c.Blocks
		out[i].Updates++
	}
	return out
}

// Groups returns the user groups and their members.
func (s *Server) Groups() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]string, len(s.groups))
	for id, m := range s.groups {
		out[id] = append([]string(nil), m...)
	}
	return out
}

// Members returns every member of every group, sorted.
func (s *Server) Members() []string {
	seen := map[string]bool{}
	var out []string
	for _, ms := range s.Groups() {
		for _, m := range ms {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	sort.Strings(out)
	return out
}

// richBlocks decodes a message's blocks and its attachments' blocks.
func richBlocks(blocks, attachments any) []map[string]any {
	var out []map[string]any
	add := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			return
		}
		var bs []map[string]any
		if json.Unmarshal(b, &bs) == nil {
			out = append(out, bs...)
		}
	}
	if s, ok := blocks.(string); ok {
		var v any
		if json.Unmarshal([]byte(s), &v) == nil {
			blocks = v
		}
	}
	if blocks != nil {
		add(blocks)
	}
	if s, ok := attachments.(string); ok {
		var v any
		if json.Unmarshal([]byte(s), &v) == nil {
			attachments = v
		}
	}
	if as, ok := attachments.([]any); ok {
		for _, a := range as {
			if m, ok := a.(map[string]any); ok && m["blocks"] != nil {
				add(m["blocks"])
			}
		}
	}
	return out
}
