package entra_test

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

// The user goes into the path, /v1.0/users/{user}: url.PathEscape keeps
// "." and "..", so a user "." or ".." asked /v1.0/users/. or
// /v1.0/users/.., which a server or proxy that removes dot segments
// (RFC 3986 5.2.4) reads as the user collection or the service root. It is
// neither an object id nor a UPN: refused before any call, saying why.
func TestDotUserRefused(t *testing.T) {
	for _, action := range []string{"entra.disable_user", "entra.enable_user", "entra.revoke_sessions"} {
		for _, user := range []string{".", "..", " . "} {
			h := connectortest.New(t)
			_, err := h.Run(action, map[string]any{"user": user}, "k1")
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != "InvalidParams" || !ae.NonRetryable() || !strings.Contains(err.Error(), "not a user id or user principal name") {
				t.Errorf("%s user=%q: err = %v, want a non-retryable InvalidParams saying it is not a user id or UPN", action, user, err)
			}
			if n := len(h.Lab.Requests(lab.Entra)); n != 0 {
				t.Errorf("%s user=%q: %d request(s) sent to Graph", action, user, n)
			}
		}
	}
}

// A Graph user always has an id ("user resource type"). A 200 without one
// (the collection {"value":[…]}, a proxy's JSON) is not the user: the step
// fails saying so, and nothing is sent to /v1.0/users/ or
// /v1.0/users//revokeSignInSessions.
func TestUserAnswerWithoutIDFails(t *testing.T) {
	for _, action := range []string{"entra.disable_user", "entra.revoke_sessions"} {
		var writes atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Path == "/token" {
				_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"graph-token"}`))
				return
			}
			if r.Method != http.MethodGet {
				writes.Add(1)
			}
			_, _ = w.Write([]byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users","value":[]}`))
		}))
		h := connectortest.New(t)
		h.Env.Connections["entra"] = activities.Connection{Type: "entra", BaseURL: srv.URL,
			Options: map[string]string{"client_id": "app", "token_url": srv.URL + "/token"},
			Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "app-secret"}}}
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
