package activities_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
)

// An http connection's base_url bounds where its requests go ("Requests
// may only go below base_url"), and a step's path cannot climb out of it.
// A redirect from the API must not lead the request, with the
// connection's token, to another path of the same origin: one gateway
// origin often serves several APIs under path prefixes, each with its own
// credentials.
func TestHTTPRequestRedirectStaysBelowBaseURL(t *testing.T) {
	var leaked []string
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/tickets/"):
			http.Redirect(w, r, "/hr/employees", http.StatusFound)
		default:
			leaked = append(leaked, r.URL.Path+" with "+r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusOK)
		}
	})
	env.Connections["tickets"] = activities.Connection{Type: "http", BaseURL: url + "/tickets",
		Secrets: map[string]activities.SecretRef{"token": {Lab: "tickets-t0ken"}}}
	_, err := runHandler(t, env, "http.request", map[string]any{"connection": "tickets", "path": "/queue"})
	if len(leaked) > 0 {
		t.Errorf("redirect followed outside base_url %s/tickets: %v", url, leaked)
	}
	if err == nil {
		t.Error("a redirect out of base_url should fail the step")
	}
}

// Redirects that stay below base_url are still followed.
func TestHTTPRequestRedirectBelowBaseURLFollowed(t *testing.T) {
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/tickets/old":
			http.Redirect(w, r, "/tickets/new", http.StatusMovedPermanently)
		case "/tickets/new":
			w.Write([]byte("ok"))
		default:
			t.Errorf("request to %s", r.URL.Path)
		}
	})
	env.Connections["tickets"] = activities.Connection{Type: "http", BaseURL: url + "/tickets",
		Secrets: map[string]activities.SecretRef{"token": {Lab: "tickets-t0ken"}}}
	out, err := runHandler(t, env, "http.request", map[string]any{"connection": "tickets", "path": "/old"})
	if err != nil || out["body"] != "ok" {
		t.Errorf("out = %v, err = %v", out, err)
	}
}
