package okta_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// The user goes into the path, /api/v1/users/{user}: url.PathEscape keeps
// "." and "..", so a user "." or ".." (a detection's odd field) asked
// /api/v1/users/. or /api/v1/users/.., which a server or proxy that removes
// dot segments (RFC 3986 5.2.4) reads as the user list or /api/v1/. It is
// neither an id nor a login: refused before any call, saying why.
func TestDotUserRefused(t *testing.T) {
	for _, action := range []string{"okta.suspend_user", "okta.clear_user_sessions", "okta.unsuspend_user"} {
		for _, user := range []string{".", "..", " .. "} {
			h := connectortest.New(t)
			_, err := h.Run(action, map[string]any{"user": user}, "k1")
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != "InvalidParams" || !ae.NonRetryable() || !strings.Contains(err.Error(), "not a user id or login") {
				t.Errorf("%s user=%q: err = %v, want a non-retryable InvalidParams saying it is not a user id or login", action, user, err)
			}
			if n := len(h.Lab.Requests(lab.Okta)); n != 0 {
				t.Errorf("%s user=%q: %d request(s) sent to Okta", action, user, n)
			}
		}
	}
}

// Okta's user object always has an id (Users API, "User object"). A 200
// without one (a proxy's or another API's JSON) is not the user: the step
// fails saying so, and nothing is sent to /api/v1/users//….
func TestUserAnswerWithoutIDFails(t *testing.T) {
	for _, action := range []string{"okta.suspend_user", "okta.clear_user_sessions"} {
		var writes atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				writes.Add(1)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"ACTIVE"}`))
		}))
		h := connectortest.New(t)
		h.Env.Connections["okta"] = activities.Connection{Type: "okta", BaseURL: srv.URL,
			Secrets: map[string]activities.SecretRef{"api_token": {Lab: "00-token"}}}
		_, err := h.Run(action, map[string]any{"user": "jdoe@example.com"}, "k1")
		srv.Close()
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != "VendorError" || !ae.NonRetryable() || !strings.Contains(err.Error(), "without an id") {
			t.Errorf("%s: err = %v, want a non-retryable VendorError saying the answer has no id", action, err)
		}
		if n := writes.Load(); n != 0 {
			t.Errorf("%s: %d change request(s) sent", action, n)
		}
	}
}
