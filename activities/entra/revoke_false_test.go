package entra_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// revokeSignInSessions answers 200 {"value": true} (Graph v1.0,
// user-revokesigninsessions, "Response"). A 200 whose value is false
// revoked nothing: the step fails and says so, it does not report the
// sessions revoked.
func TestRevokeAnsweredValueFalseFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply := func(v any) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v)
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/token":
			reply(map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": "graph-token"})
		case r.Method == http.MethodGet && r.URL.Path == "/v1.0/users/jdoe@example.com":
			reply(map[string]any{"id": "11111111-2222-3333-4444-555555555555", "userPrincipalName": "jdoe@example.com", "accountEnabled": true})
		case r.Method == http.MethodPost && r.URL.Path == "/v1.0/users/11111111-2222-3333-4444-555555555555/revokeSignInSessions":
			reply(map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": false})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["entra"] = activities.Connection{Type: "entra", BaseURL: srv.URL,
		Options: map[string]string{"client_id": "app", "token_url": srv.URL + "/token"},
		Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "app-secret"}}}
	out, err := h.Run("entra.revoke_sessions", map[string]any{"user": "jdoe@example.com"}, "k1")
	if err == nil {
		t.Fatalf("value=false read as sessions revoked: %v", out)
	}
	ae := connectortest.AppError(t, err)
	if !ae.NonRetryable() || ae.Type() != "VendorError" || !strings.Contains(err.Error(), "value=false") {
		t.Errorf("error = %s %v, want a non-retryable VendorError saying value=false", ae.Type(), err)
	}
}
