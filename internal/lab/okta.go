package lab

import (
	"net/http"
	"strings"
	"time"
)

// Okta fake: users by id, login or login short name; lifecycle
// suspend/unsuspend with Okta's state rules (suspend only from ACTIVE, else
// 400 E0000001); DELETE sessions (204). 429 carries X-Rate-Limit-Reset.

func oktaError(w http.ResponseWriter, status int, code, summary string, causes ...string) {
	var cs []map[string]any
	for _, c := range causes {
		cs = append(cs, map[string]any{"errorSummary": c})
	}
	if cs == nil {
		cs = []map[string]any{}
	}
	writeJSON(w, status, map[string]any{"errorCode": code, "errorSummary": summary, "errorLink": code,
		"errorId": "oae" + stableID(time.Now().String(), 20), "errorCauses": cs})
}

func oktaFault(w http.ResponseWriter, f *Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("X-Rate-Limit-Limit", "600")
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		w.Header().Set("X-Rate-Limit-Reset", epoch(f.RetryAfter))
		oktaError(w, f.Status, "E0000047", "API call exceeded rate limit due to too many requests.")
	case f.Status == http.StatusUnauthorized:
		oktaError(w, f.Status, "E0000011", "Invalid token provided")
	default:
		oktaError(w, f.Status, "E0000009", "Internal Server Error")
	}
}

// oktaUser finds a user by id, login or unambiguous short name. Callers
// hold l.mu.
func (l *Lab) oktaUser(key string) *user {
	var short []*user
	for _, u := range l.users {
		if u.oktaID == key || strings.EqualFold(u.login, key) {
			return u
		}
		if name, _, _ := strings.Cut(u.login, "@"); strings.EqualFold(name, key) {
			short = append(short, u)
		}
	}
	if len(short) == 1 {
		return short[0]
	}
	return nil
}

func (l *Lab) oktaRoutes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "SSWS "+oktaToken {
				oktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
				return
			}
			h(w, r)
		}
	}
	notFound := func(w http.ResponseWriter, id string) {
		oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (User)")
	}
	// The API token's own user (GET /api/v1/users/me).
	l.handle(mux, Okta, "GET /okta/api/v1/users/me", readRoute, oktaFault, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "SSWS "+oktaToken {
			oktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": "00ulabriposte000001", "status": "ACTIVE",
			"profile": map[string]any{"login": "riposte-svc@example.com", "email": "riposte-svc@example.com"}})
	})
	l.handle(mux, Okta, "GET /okta/api/v1/users/{id}", readRoute, oktaFault, auth(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		u := l.oktaUser(r.PathValue("id"))
		if u == nil {
			notFound(w, r.PathValue("id"))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": u.oktaID, "status": u.oktaStatus,
			"statusChanged": nullTime(u.oktaChangedAt),
			"profile":       map[string]any{"login": u.login, "email": u.login, "firstName": u.first, "lastName": u.last}})
	}))
	lifecycle := func(op, from, to, cause string) http.HandlerFunc {
		return auth(func(w http.ResponseWriter, r *http.Request) {
			l.mu.Lock()
			defer l.mu.Unlock()
			u := l.oktaUser(r.PathValue("id"))
			if u == nil {
				notFound(w, r.PathValue("id"))
				return
			}
			if u.oktaStatus != from {
				l.record(r, Okta, op, u.login, false, http.StatusBadRequest, "status "+u.oktaStatus)
				oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: "+op, cause)
				return
			}
			u.oktaStatus, u.oktaChangedAt = to, time.Now().UTC()
			l.record(r, Okta, op, u.login, true, http.StatusOK, "")
			writeJSON(w, http.StatusOK, map[string]any{})
		})
	}
	l.handle(mux, Okta, "POST /okta/api/v1/users/{id}/lifecycle/suspend", mutateRoute, oktaFault,
		lifecycle("suspend", "ACTIVE", "SUSPENDED", "Cannot suspend a user that is not active"))
	l.handle(mux, Okta, "POST /okta/api/v1/users/{id}/lifecycle/unsuspend", mutateRoute, oktaFault,
		lifecycle("unsuspend", "SUSPENDED", "ACTIVE", "Cannot unsuspend a user that is not suspended"))
	l.handle(mux, Okta, "DELETE /okta/api/v1/users/{id}/sessions", mutateRoute, oktaFault, auth(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		u := l.oktaUser(r.PathValue("id"))
		if u == nil {
			notFound(w, r.PathValue("id"))
			return
		}
		changed := u.oktaSessions > 0
		note := ""
		if r.URL.Query().Get("oauthTokens") != "true" {
			note = "OAuth tokens kept (oauthTokens not true)"
		}
		u.oktaSessions = 0
		if changed {
			u.revokedAt[Okta] = time.Now().UTC()
		}
		l.record(r, Okta, "clear_sessions", u.login, changed, http.StatusNoContent, note)
		w.WriteHeader(http.StatusNoContent)
	}))
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}
