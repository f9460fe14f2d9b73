package lab

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Microsoft Graph fake (Entra ID users): get a user by id or UPN, PATCH
// accountEnabled (204), revokeSignInSessions (200 {"value":true}), which
// stamps signInSessionsValidFromDateTime. Tokens must carry the Graph
// audience (scope https://graph.microsoft.com/.default).

var graphPatchable = map[string]bool{"accountEnabled": true, "displayName": true, "jobTitle": true}

func (l *Lab) graphUser(key string) *user {
	for _, u := range l.users {
		if u.entraID == key || strings.EqualFold(u.login, key) {
			return u
		}
	}
	return nil
}

func (l *Lab) graphRoutes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !l.bearer(r, Entra) {
				msError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
				return
			}
			h(w, r)
		}
	}
	notFound := func(w http.ResponseWriter, id string) {
		msError(w, http.StatusNotFound, "Request_ResourceNotFound",
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
	}
	l.handle(mux, Entra, "GET /graph/v1.0/users", readRoute, msFault, auth(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		top := len(l.users)
		if n, err := strconv.Atoi(r.URL.Query().Get("$top")); err == nil && n >= 1 && n < top {
			top = n
		}
		vals := []map[string]any{}
		for _, u := range l.users[:top] {
			vals = append(vals, map[string]any{"id": u.entraID, "userPrincipalName": u.login})
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": vals})
	}))
	l.handle(mux, Entra, "GET /graph/v1.0/users/{id}", readRoute, msFault, auth(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		u := l.graphUser(r.PathValue("id"))
		if u == nil {
			notFound(w, r.PathValue("id"))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
			"id":             u.entraID, "userPrincipalName": u.login, "displayName": u.first + " " + u.last,
			"accountEnabled":                  u.entraEnabled,
			"signInSessionsValidFromDateTime": u.entraValid.Format(time.RFC3339),
		})
	}))
	l.handle(mux, Entra, "PATCH /graph/v1.0/users/{id}", mutateRoute, msFault, auth(func(w http.ResponseWriter, r *http.Request) {
		if !isJSON(r) {
			msError(w, http.StatusUnsupportedMediaType, "Request_BadRequest", "A supported MIME type could not be found that matches the content type of the response.")
			return
		}
		body, err := decodeBody(r)
		if err != nil {
			msError(w, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
			return
		}
		for k := range body {
			if !graphPatchable[k] {
				msError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Property '%s' does not exist on type 'microsoft.graph.user' (or is not writable in the lab).", k))
				return
			}
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		u := l.graphUser(r.PathValue("id"))
		if u == nil {
			notFound(w, r.PathValue("id"))
			return
		}
		if v, ok := body["accountEnabled"]; ok {
			b, isBool := v.(bool)
			if !isBool {
				msError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'accountEnabled' of resource 'User'.")
				return
			}
			op := "disable"
			if b {
				op = "enable"
			}
			changed := u.entraEnabled != b
			if changed {
				u.entraEnabled, u.entraSince = b, time.Now().UTC()
			}
			l.record(r, Entra, op, u.login, changed, http.StatusNoContent, "")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	l.handle(mux, Entra, "POST /graph/v1.0/users/{id}/revokeSignInSessions", mutateRoute, msFault, auth(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		u := l.graphUser(r.PathValue("id"))
		if u == nil {
			notFound(w, r.PathValue("id"))
			return
		}
		changed := u.entraSessions > 0
		now := time.Now().UTC()
		u.entraSessions, u.entraValid = 0, now
		if changed {
			u.revokedAt[Entra] = now
		}
		l.record(r, Entra, "revoke_sessions", u.login, changed, http.StatusOK, "")
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true})
	}))
}
