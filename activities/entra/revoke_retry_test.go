package entra_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// A retry may only take a newer signInSessionsValidFromDateTime for its
// own step's revocation when an earlier attempt sent one. When the first
// attempt failed before sending anything (Graph throttled or was
// unavailable while the user was read), the stamp that moved since the
// step was scheduled is someone else's: the account revoking its own
// sessions or changing its password — an attacker holding it, who signs
// in again after. The retry must revoke, not report already=true.
func TestRevokeRetryAfterFailureBeforeSendingRevokes(t *testing.T) {
	var mu sync.Mutex
	revokes, reads := 0, 0
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
			reads++
			if reads == 1 {
				// The first attempt: Graph is unavailable; nothing is sent.
				reply(http.StatusServiceUnavailable, map[string]any{"error": map[string]any{"code": "serviceNotAvailable", "message": "try later"}})
				return
			}
			// Meanwhile the account revoked its own sessions (and signed
			// in again): the stamp is later than the step's scheduling.
			reply(http.StatusOK, map[string]any{"id": "11111111-2222-3333-4444-555555555555", "userPrincipalName": "jdoe@example.com",
				"accountEnabled": true, "signInSessionsValidFromDateTime": time.Now().UTC().Add(time.Minute).Format(time.RFC3339)})
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
	for _, local := range []bool{false, true} {
		mu.Lock()
		revokes, reads = 0, 0
		mu.Unlock()
		run := h.RunWithRetries
		if local {
			run = h.RunLocalWithRetries
		}
		out, err := run("entra.revoke_sessions", map[string]any{"user": "jdoe@example.com"}, 3)
		mu.Lock()
		if err != nil || revokes != 1 || out["already"] != false {
			t.Errorf("local=%v: the first attempt failed reading the user, sending nothing; the retry sent %d revocation(s) (%d reads), output %v, error %v; want 1 sent, already=false", local, revokes, reads, out, err)
		}
		mu.Unlock()
	}
}

// The retry of an attempt that sent the revocation and lost its answer
// still sends no second one (as a regular activity, whose progress
// carries over).
func TestRevokeRetryAfterLostAnswerSendsNoSecond(t *testing.T) {
	var mu sync.Mutex
	revokes := 0
	stamp := "2020-01-01T00:00:00Z"
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
		case r.Method == http.MethodGet && r.URL.Path == "/v1.0/users/jdoe@example.com":
			reply(http.StatusOK, map[string]any{"id": "11111111-2222-3333-4444-555555555555", "userPrincipalName": "jdoe@example.com",
				"accountEnabled": true, "signInSessionsValidFromDateTime": stamp})
		case r.Method == http.MethodPost && r.URL.Path == "/v1.0/users/11111111-2222-3333-4444-555555555555/revokeSignInSessions":
			revokes++
			stamp = time.Now().UTC().Add(time.Minute).Format(time.RFC3339)
			if revokes == 1 {
				// Revoked, but the answer is lost.
				reply(http.StatusServiceUnavailable, map[string]any{"error": map[string]any{"code": "serviceNotAvailable", "message": "try later"}})
				return
			}
			reply(http.StatusOK, map[string]any{"value": true})
		default:
			reply(http.StatusNotFound, map[string]any{"error": map[string]any{"code": "Request_ResourceNotFound", "message": r.URL.Path}})
		}
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["entra"] = activities.Connection{Type: "entra", BaseURL: srv.URL,
		Options: map[string]string{"client_id": "app", "token_url": srv.URL + "/token"},
		Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "app-secret"}}}
	out, err := h.RunWithRetries("entra.revoke_sessions", map[string]any{"user": "jdoe@example.com"}, 3)
	mu.Lock()
	defer mu.Unlock()
	if err != nil || revokes != 1 || out["already"] != true {
		t.Errorf("%d revocation(s) sent, output %v, error %v; want 1 sent and already=true on the retry", revokes, out, err)
	}
}
