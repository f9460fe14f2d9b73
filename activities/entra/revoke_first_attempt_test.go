package entra_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// signInSessionsValidFromDateTime moves whenever anyone revokes the
// user's sessions, the user included (POST /me/revokeSignInSessions:
// "this operation is performed (by the user or an administrator)",
// user-revokesigninsessions), or the password changes. An attacker holding
// the account who does that after the step was scheduled, then signs in
// again, holds sessions newer than that time. The step's first attempt has
// no earlier attempt that could have revoked anything: it must revoke, not
// read the moved timestamp as its own revocation (already, and preexisting:
// someone else's containment) and leave the attacker's sessions valid.
func TestRevokeFirstAttemptRevokesDespiteNewerValidFrom(t *testing.T) {
	var mu sync.Mutex
	revokes := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		reply := func(status int, v any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(v)
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/token":
			reply(http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": "graph-token"})
		case r.Header.Get("Authorization") != "Bearer graph-token":
			reply(http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": "InvalidAuthenticationToken", "message": "no"}})
		case r.Method == http.MethodGet && r.URL.Path == "/v1.0/users/jdoe@example.com":
			// The account revoked its own sessions (or changed its
			// password) a moment ago, after the step was scheduled.
			reply(http.StatusOK, map[string]any{"id": "11111111-2222-3333-4444-555555555555", "userPrincipalName": "jdoe@example.com",
				"accountEnabled": true, "signInSessionsValidFromDateTime": time.Now().UTC().Format(time.RFC3339)})
		case r.Method == http.MethodPost && r.URL.Path == "/v1.0/users/11111111-2222-3333-4444-555555555555/revokeSignInSessions":
			revokes++
			reply(http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true})
		default:
			reply(http.StatusNotFound, map[string]any{"error": map[string]any{"code": "Request_ResourceNotFound", "message": r.URL.Path}})
		}
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["entra"] = activities.Connection{Type: "entra", BaseURL: srv.URL,
		Options: map[string]string{"client_id": "app", "token_url": srv.URL + "/token"},
		Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "app-secret"}}}
	out := h.MustRun("entra.revoke_sessions", map[string]any{"user": "jdoe@example.com"}, "k1")
	mu.Lock()
	defer mu.Unlock()
	if revokes != 1 || out["already"] != false || out[catalog.OutputPreexisting] != nil {
		t.Errorf("first attempt: %d revocations sent, output %v; want 1 sent, already=false, not preexisting", revokes, out)
	}
}
