package lab

import (
	"net/http"
	"strings"
	"time"
)

// SentinelOne fake: agents by computerName, disconnect/connect actions
// that must be filtered and answer {"data":{"affected":n}} (0 when the
// filter matched nothing — a failure inside a 200).

func s1Errors(w http.ResponseWriter, status, code int, title, detail string) {
	writeJSON(w, status, map[string]any{"errors": []any{map[string]any{"code": code, "title": title, "detail": detail}}})
}

func s1Fault(w http.ResponseWriter, f *Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", seconds(f.RetryAfter))
		s1Errors(w, f.Status, 4290010, "Too Many Requests", "Rate limit exceeded")
	case f.Status == http.StatusUnauthorized:
		s1Errors(w, f.Status, 4010010, "Authentication Failed", "")
	default:
		s1Errors(w, f.Status, 5000010, "Server Error", http.StatusText(f.Status))
	}
}

func (l *Lab) sentineloneRoutes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "ApiToken "+s1Token {
				s1Errors(w, http.StatusUnauthorized, 4010010, "Authentication Failed", "")
				return
			}
			h(w, r)
		}
	}
	agent := func(h *host) map[string]any {
		return map[string]any{"id": h.s1ID, "uuid": stableID("s1uuid:"+h.name, 32), "computerName": h.name,
			"networkStatus": h.s1Network, "osType": strings.ToLower(h.os), "isActive": true,
			"lastActiveDate": h.lastSeen.Format(time.RFC3339)}
	}
	l.handle(mux, SentinelOne, "GET /sentinelone/web/api/v2.1/agents", readRoute, s1Fault, auth(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("computerName")
		l.mu.Lock()
		defer l.mu.Unlock()
		data := []map[string]any{}
		for _, h := range l.hosts {
			if name == "" || strings.EqualFold(h.name, name) {
				data = append(data, agent(h))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "pagination": map[string]any{"totalItems": len(data), "nextCursor": nil}})
	}))
	act := func(op, want string) http.HandlerFunc {
		return auth(func(w http.ResponseWriter, r *http.Request) {
			if !isJSON(r) {
				s1Errors(w, http.StatusBadRequest, 4000010, "Validation Error", "Content-Type must be application/json")
				return
			}
			body, err := decodeBody(r)
			if err != nil {
				s1Errors(w, http.StatusBadRequest, 4000010, "Validation Error", "Invalid JSON body")
				return
			}
			filter, _ := body["filter"].(map[string]any)
			if len(filter) == 0 {
				// An empty filter would act on every agent: refused.
				s1Errors(w, http.StatusBadRequest, 4000010, "Validation Error", "filter: Missing data for required field.")
				return
			}
			ids, _ := filter["ids"].([]any)
			l.mu.Lock()
			defer l.mu.Unlock()
			affected := 0
			for _, v := range ids {
				id, _ := v.(string)
				for _, h := range l.hosts {
					if h.s1ID != id {
						continue
					}
					affected++
					changed := h.s1Network != want
					if changed {
						h.s1Network, h.s1Since = want, time.Now().UTC()
					}
					l.record(r, SentinelOne, op, h.name, changed, http.StatusOK, "")
				}
			}
			if affected == 0 {
				l.record(r, SentinelOne, op, "(no agent matched)", false, http.StatusOK, "affected 0")
			}
			writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"affected": affected}})
		})
	}
	l.handle(mux, SentinelOne, "POST /sentinelone/web/api/v2.1/agents/actions/disconnect", mutateRoute, s1Fault, act("disconnect", "disconnected"))
	l.handle(mux, SentinelOne, "POST /sentinelone/web/api/v2.1/agents/actions/connect", mutateRoute, s1Fault, act("connect", "connected"))
}
