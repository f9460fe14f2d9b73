package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzControlBody: the bodies of decisions, rollbacks, extensions and
// safe mode (readStrict) are refused with 400 or 413 and a message, never
// a panic; what is accepted holds no key twice, however its case is
// spelt, and reads as encoding/json reads it.
func FuzzControlBody(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"step":"gate","decision":"approve"}`, `{"step":"a","Step":"b"}`,
		`{"step":"a","\u017ftep":"b"}`, `{"enabled":true} x`, `[1]`, `{"step":1}`, `{"reason":"` + strings.Repeat("x", 100) + `"}`,
		`{"user":"U1","decision":"deny","step":"s","reason":"r"}`, `{"unknown":1}`, `{"step":"a"}{"step":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/runs/x/approvals", bytes.NewReader(body))
		var req DecisionRequest
		status, err := readStrict(r, &req)
		if err != nil {
			if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d for %q", status, body)
			}
			if msg := err.Error(); strings.TrimSpace(msg) == "" {
				t.Fatalf("empty error for %q", body)
			}
			return
		}
		var m map[string]json.RawMessage
		if len(bytes.TrimSpace(body)) == 0 {
			return
		}
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses as an object: %v", body, err)
		}
		seen := map[string]bool{}
		for k := range m {
			f := strings.ToLower(k)
			if seen[f] {
				t.Fatalf("accepted %q: key %q given twice", body, k)
			}
			seen[f] = true
		}
		var again DecisionRequest
		if err := json.Unmarshal(body, &again); err != nil || again != req {
			t.Fatalf("accepted %q as %+v; encoding/json reads %+v, %v", body, req, again, err)
		}
	})
}

// FuzzCheckQuery: any query string is accepted or refused with a message
// that is UTF-8 and short, never a panic.
func FuzzCheckQuery(f *testing.F) {
	for _, s := range []string{"", "limit=5", "limit=5&limit=6", "x=1", "a;b", "%zz", "status=running&cursor=abc", "=", "&&", "limit"} {
		f.Add(s)
	}
	params := []string{"cursor", "kind", "limit", "mode", "outcome", "playbook", "shadow", "status"}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, ps := range [][]string{params, nil} {
			err := checkQuery("GET /v1/runs", raw, ps)
			if err == nil {
				continue
			}
			msg := err.Error()
			if msg == "" || len(msg) > 2000+len(raw) {
				t.Fatalf("message of %d bytes for %q", len(msg), raw)
			}
			if !utf8.ValidString(msg) && utf8.ValidString(raw) {
				t.Fatalf("message not UTF-8 for %q: %q", raw, msg)
			}
		}
	})
}
