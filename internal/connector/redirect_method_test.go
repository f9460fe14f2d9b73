package connector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A 301 or 302 answer to a POST is followed by Go's client as a GET
// without the body (net/http, Client.Do). Followed, the vendor's action
// (not carried out: "moved") becomes a read of another page, and that
// page's 200 is taken for the action's answer: a containment or an alert
// that never happened reads as done. Such a redirect is the 3xx it is, for
// the caller to fail on; 307 and 308 keep the method and body, and a 303
// says the request was processed (RFC 9110 15.4): those are followed.
func TestPostIsNotTurnedIntoGetByARedirect(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound} {
		var got []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = append(got, r.Method+" "+r.URL.Path)
			if r.URL.Path == "/v2/enqueue" {
				http.Redirect(w, r, "/sign_in", code)
				return
			}
			_, _ = w.Write([]byte(`<html>Log in</html>`))
		}))
		c := &Conn{Env: &Env{}, Name: "pd", Label: "PagerDuty", Cfg: Connection{BaseURL: srv.URL}}
		resp, err := c.Do(context.Background(), Request{Method: http.MethodPost, Path: "/v2/enqueue", JSON: map[string]any{"event_action": "trigger"}})
		srv.Close()
		if err != nil {
			t.Fatalf("%d: %v", code, err)
		}
		if resp.Status != code || len(got) != 1 {
			t.Errorf("POST answered %d: followed as %v, answer HTTP %d; want the %d itself, not followed", code, got, resp.Status, code)
		}
	}
	// 303 (processed; the result is elsewhere) is followed with a GET.
	var seen []string
	srv303 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.Path)
		if r.URL.Path == "/things" {
			http.Redirect(w, r, "/things/1", http.StatusSeeOther)
			return
		}
		_, _ = w.Write([]byte(`{"id":"1"}`))
	}))
	defer srv303.Close()
	c303 := &Conn{Env: &Env{}, Name: "api", Label: "API", Cfg: Connection{BaseURL: srv303.URL}}
	if resp, err := c303.Do(context.Background(), Request{Method: http.MethodPost, Path: "/things", JSON: map[string]any{"a": 1}}); err != nil || resp.Status != http.StatusOK || len(seen) != 2 {
		t.Errorf("303: %v %v %v", seen, resp, err)
	}
	// 307 keeps the method and the body: followed.
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path)
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c := &Conn{Env: &Env{}, Name: "pd", Label: "PagerDuty", Cfg: Connection{BaseURL: srv.URL}}
	resp, err := c.Do(context.Background(), Request{Method: http.MethodPost, Path: "/old", JSON: map[string]any{"a": 1}})
	if err != nil || resp.Status != http.StatusAccepted || len(got) != 2 || got[1] != "POST /new" {
		t.Errorf("307: %v %v %v", got, resp, err)
	}
}
