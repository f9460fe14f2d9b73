package sentinelone

import (
	"encoding/base64"
	"fmt"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
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
// decommissioned): AddStaleAgents adds such records, listed before the
// live agent, so a lookup that reads only page 1 acts on a stale one.
//
// Agent records and error bodies have the keys and types of answers
// recorded from real consoles by third parties (testdata/README.md); the
// list envelope and the action answer have no recorded sample.

// s1Stale is an agent record left behind by a reimage or a VDI clone: the
// console still lists it and accepts actions on it (affected 1), but no
// host is behind it.
type s1Stale struct {
	host, id, network string
	lastActive        time.Time
}

// AddStaleAgents adds n stale SentinelOne agent records named like host,
// last active days ago.
func (fk *Fake) AddStaleAgents(hostname string, n int) {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	for i := 0; i < n; i++ {
		fk.stale = append(fk.stale, &s1Stale{host: hostname, id: fmt.Sprint(1600000000000000000 + int64(len(fk.stale))*104729),
			network: "connected", lastActive: time.Now().UTC().Add(-time.Duration(48+i) * time.Hour).Truncate(time.Second)})
	}
}

// StaleActions counts the actions sent to stale agent records.
func (fk *Fake) StaleActions() int {
	n := 0
	for _, c := range fk.Calls() {
		if c.Vendor == vendorName && strings.HasPrefix(c.Note, "stale agent") {
			n++
		}
	}
	return n
}

func s1Errors(w http.ResponseWriter, status, code int, title, detail string) {
	labkit.WriteJSON(w, status, map[string]any{"errors": []any{map[string]any{"code": code, "title": title, "detail": detail}}})
}

func s1Fault(w http.ResponseWriter, f *labkit.Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", labkit.Seconds(f.RetryAfter))
		s1Errors(w, f.Status, 4290010, "Too Many Requests", "Rate limit exceeded")
	case f.Status == http.StatusUnauthorized:
		s1Errors(w, f.Status, 4010010, "Authentication Failed", "")
	case f.Status == http.StatusInternalServerError:
		// As recorded from a console (testdata/error-500.json).
		s1Errors(w, f.Status, 5000010, "Internal server error", "Server could not process the request.")
	default:
		s1Errors(w, f.Status, 5000010, "Server Error", http.StatusText(f.Status))
	}
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "ApiToken "+s1Token {
				s1Errors(w, http.StatusUnauthorized, 4010010, "Authentication Failed", "")
				return
			}
			h(w, r)
		}
	}
	agent := func(h *s1Host) map[string]any {
		return map[string]any{"id": h.id, "uuid": labkit.StableID("s1uuid:"+h.Name, 32), "computerName": h.Name,
			"networkStatus": h.network, "osType": strings.ToLower(h.OS), "isActive": true,
			"lastActiveDate": h.LastSeen.Format(time.RFC3339)}
	}
	fk.Handle(mux, vendorName, "GET /sentinelone/web/api/v2.1/agents", labkit.ReadRoute, s1Fault, auth(func(w http.ResponseWriter, r *http.Request) {
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
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		all := []map[string]any{}
		for _, st := range fk.stale {
			if name == "" || strings.EqualFold(st.host, name) {
				all = append(all, map[string]any{"id": st.id, "uuid": labkit.StableID("s1uuid:"+st.id, 32), "computerName": st.host,
					"networkStatus": st.network, "osType": "windows", "isActive": false,
					"lastActiveDate": st.lastActive.Format(time.RFC3339)})
			}
		}
		for _, h := range fk.hosts() {
			if name == "" || strings.EqualFold(h.Name, name) {
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
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"data": data, "pagination": map[string]any{"totalItems": len(all), "nextCursor": next}})
	}))
	act := func(op, want string) http.HandlerFunc {
		return auth(func(w http.ResponseWriter, r *http.Request) {
			if !labkit.IsJSON(r) {
				s1Errors(w, http.StatusBadRequest, 4000010, "Validation Error", "Content-Type must be application/json")
				return
			}
			body, err := labkit.DecodeBody(r)
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
			fk.Mu.Lock()
			defer fk.Mu.Unlock()
			affected := 0
			for _, v := range ids {
				id, _ := v.(string)
				for _, h := range fk.hosts() {
					if h.id != id {
						continue
					}
					affected++
					changed := h.network != want
					if changed {
						h.network, h.since = want, time.Now().UTC()
					}
					fk.Record(r, vendorName, op, h.Name, changed, http.StatusOK, "")
				}
				for _, st := range fk.stale {
					if st.id == id {
						affected++
						st.network = want
						fk.Record(r, vendorName, op, st.host, false, http.StatusOK, "stale agent "+st.id+": no host behind it")
					}
				}
			}
			if affected == 0 {
				fk.Record(r, vendorName, op, "(no agent matched)", false, http.StatusOK, "affected 0")
			}
			labkit.WriteJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"affected": affected}})
		})
	}
	fk.Handle(mux, vendorName, "POST /sentinelone/web/api/v2.1/agents/actions/disconnect", labkit.MutateRoute, s1Fault, act("disconnect", "disconnected"))
	fk.Handle(mux, vendorName, "POST /sentinelone/web/api/v2.1/agents/actions/connect", labkit.MutateRoute, s1Fault, act("connect", "connected"))
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "sentinelone"

// Lab credentials. They are public test constants, not secrets.
const s1Token = "lab-s1-token"

// s1Host is a host's live agent as the console knows it.
type s1Host struct {
	*labkit.Host
	id, network string // network: connected, disconnected
	since       time.Time
}

// Fake is the lab's SentinelOne fake (see the top of this file).
type Fake struct {
	labkit.Base
	state map[*labkit.Host]*s1Host
	stale []*s1Stale
}

// NewFake returns the fake, serving on the lab of k.
func NewFake(k *labkit.Kit) *Fake {
	return &Fake{Base: labkit.NewBase(k, vendorName), state: map[*labkit.Host]*s1Host{}}
}

// hosts lists every inventory host's agent. Callers hold Mu.
func (fk *Fake) hosts() []*s1Host {
	return labkit.States(fk.Kit.Hosts, fk.state, func(h *labkit.Host) *s1Host {
		return &s1Host{Host: h, id: fmt.Sprint(1700000000000000000 + int64(h.Index)*7919), network: "connected"}
	})
}

// Connections implements labkit.Fake.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{
		vendorName: {Type: vendorName, BaseURL: fk.URL + "/sentinelone",
			Secrets: map[string]connector.SecretRef{"api_token": labkit.Lit(s1Token)}},
	}
}

// Snapshot implements labkit.Fake: disconnected hosts.
func (fk *Fake) Snapshot(st *labkit.State) {
	for _, h := range fk.hosts() {
		st.Hosts[h.Index].SentinelOne = h.network
		if h.network == "disconnected" {
			st.ContainedHosts = append(st.ContainedHosts, labkit.ContainedHost{Vendor: vendorName, Hostname: h.Name, ID: h.id, Since: h.since})
		}
	}
}
