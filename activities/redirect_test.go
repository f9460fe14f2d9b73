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

// A redirect whose path climbs out of base_url in a form a server decodes
// (a doubly escaped dot segment, a backslash, Tomcat's "..;" path
// parameter) must not be followed with the connection's credentials: the
// step's own path refuses the same forms ("escaped twice", backslash, ..).
func TestHTTPRequestRedirectDisguisedDotSegmentsNotFollowed(t *testing.T) {
	for _, loc := range []string{
		"/tickets/%252e%252e/hr/employees",
		"/tickets/..%5Chr/employees",
		"/tickets/..;/hr/employees",
		"/tickets/..;jsessionid=1/hr/employees",
	} {
		t.Run(loc, func(t *testing.T) {
			var leaked []string
			env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/tickets/queue" {
					w.Header().Set("Location", loc)
					w.WriteHeader(http.StatusFound)
					return
				}
				leaked = append(leaked, r.URL.RawPath+" "+r.URL.Path+" with "+r.Header.Get("Authorization"))
				w.WriteHeader(http.StatusOK)
			})
			env.Connections["tickets"] = activities.Connection{Type: "http", BaseURL: url + "/tickets",
				Secrets: map[string]activities.SecretRef{"token": {Lab: "tickets-t0ken"}}}
			_, err := runHandler(t, env, "http.request", map[string]any{"connection": "tickets", "path": "/queue"})
			if len(leaked) > 0 {
				t.Errorf("redirect to %s followed with the connection's credentials: %v", loc, leaked)
			}
			if err == nil {
				t.Error("a redirect out of base_url should fail the step")
			}
		})
	}
}

// A step's path (often templated from the detection, e.g. a host name)
// cannot climb out of base_url through Tomcat's "..;" path parameter,
// which such servers read as "..".
func TestHTTPRequestPathSemicolonDotSegmentRefused(t *testing.T) {
	var sent []string
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		sent = append(sent, r.URL.Path)
		w.WriteHeader(http.StatusOK)
	})
	env.Connections["tickets"] = activities.Connection{Type: "http", BaseURL: url + "/tickets",
		Secrets: map[string]activities.SecretRef{"token": {Lab: "tickets-t0ken"}}}
	for _, p := range []string{"/hosts/..;/../hr/employees", "/..;/hr/employees", "/hosts/.;/x"} {
		sent = nil
		_, err := runHandler(t, env, "http.request", map[string]any{"connection": "tickets", "path": p})
		if err == nil || len(sent) > 0 {
			t.Errorf("path %q: sent %v, err %v; want it refused like a .. segment", p, sent, err)
		}
	}
}
