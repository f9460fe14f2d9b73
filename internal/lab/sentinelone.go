package lab

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SentinelOne fake: agents by computerName, disconnect/connect actions
// that must be filtered and answer {"data":{"affected":n}} (0 when the
// filter matched nothing — a failure inside a 200).
//
// Paging follows the v2.1 API reference (Management Console > API Doc,
// "Get Agents"): `limit` 1-1000, default 10; the answer's
// pagination.nextCursor is passed back as `cursor` and is null on the last
// page; totalItems counts every match. A computer name can match several
// agents (VDI clones, reimaged hosts keep their old agent records until
// decommissioned): AddStaleS1Agents adds such records, listed before the
// live agent, so a lookup that reads only page 1 acts on a stale one.

// s1Stale is an agent record left behind by a reimage or a VDI clone: the
// console still lists it and accepts actions on it (affected 1), but no
// host is behind it.
type s1Stale struct {
	host, id, network string
	lastActive        time.Time
}

// AddStaleS1Agents adds n stale SentinelOne agent records named like host,
// last active days ago.
func (l *Lab) AddStaleS1Agents(hostname string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i < n; i++ {
		l.s1Stale = append(l.s1Stale, &s1Stale{host: hostname, id: fmt.Sprint(1600000000000000000 + int64(len(l.s1Stale))*104729),
			network: "connected", lastActive: time.Now().UTC().Add(-time.Duration(48+i) * time.Hour).Truncate(time.Second)})
	}
}

// S1StaleActions counts the actions sent to stale agent records.
func (l *Lab) S1StaleActions() int {
	n := 0
	for _, c := range l.Calls() {
		if c.Vendor == SentinelOne && strings.HasPrefix(c.Note, "stale agent") {
			n++
		}
	}
	return n
}

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
		q := r.URL.Query()
		name := q.Get("computerName")
		limit := 10 // the documented default page size
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				s1Errors(w, http.StatusBadRequest, 4000010, "Validation Error", "limit: Must be between 1 and 1000.")
				return
			}
			limit = n
		}
		offset := 0
		if c := q.Get("cursor"); c != "" {
			b, err := base64.StdEncoding.DecodeString(c)
			n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
			if err != nil || err2 != nil || n < 0 {
				s1Errors(w, http.StatusBadRequest, 4000010, "Validation Error", "cursor: Invalid cursor.")
				return
			}
			offset = n
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		all := []map[string]any{}
		for _, st := range l.s1Stale {
			if name == "" || strings.EqualFold(st.host, name) {
				all = append(all, map[string]any{"id": st.id, "uuid": stableID("s1uuid:"+st.id, 32), "computerName": st.host,
					"networkStatus": st.network, "osType": "windows", "isActive": false,
					"lastActiveDate": st.lastActive.Format(time.RFC3339)})
			}
		}
		for _, h := range l.hosts {
			if name == "" || strings.EqualFold(h.name, name) {
				all = append(all, agent(h))
			}
		}
		data := []map[string]any{}
		if offset < len(all) {
			data = all[offset:min(len(all), offset+limit)]
		}
		var next any
		if offset+limit < len(all) {
			next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset+limit)))
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "pagination": map[string]any{"totalItems": len(all), "nextCursor": next}})
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
				for _, st := range l.s1Stale {
					if st.id == id {
						affected++
						st.network = want
						l.record(r, SentinelOne, op, st.host, false, http.StatusOK, "stale agent "+st.id+": no host behind it")
					}
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
