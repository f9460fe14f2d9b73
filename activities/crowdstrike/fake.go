package crowdstrike

import (
	"fmt"
	"github.com/riposte-dev/riposte/internal/labkit"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/connector"
)

// CrowdStrike Falcon fake: OAuth2 token (201), host query by FQL hostname
// (limit/offset, meta.pagination), device details, containment actions
// (202; a device already in the state asked is an error of code 409, and
// the answer is 409 when no device was acted on). Errors come in errors[]
// next to meta (no resources); 429 carries
// X-RateLimit-RetryAfter (epoch seconds). The token, query, device and
// error answers have the keys and types of recorded API answers
// (testdata/README.md: third-party recordings, not CrowdStrike's docs); the
// containment action's answer has no recorded sample.
//
// Clouds: the fake serves us-1 under /crowdstrike and us-2, eu-1 under
// /crowdstrike-us-2, /crowdstrike-eu-1. Every token answer carries the
// client's home cloud in X-CS-Region (the header gofalcon's and falconpy's
// region autodiscovery read, declared on POST /oauth2/token 201 in the
// Falcon swagger). A token request on another cloud than the client's is
// not answered with a token: it gets a 308 to the home cloud's token
// endpoint, empty, with X-CS-Region, as the real gateway answers
// (CrowdStrike/ansible_collection_falcon issue #217: api.crowdstrike.com
// answering a us-2 client "308 Permanent Redirect", location
// https://api.us-2.crowdstrike.com/oauth2/token, x_cs_region: us-2). A
// token used on another cloud's API gets 401 "access denied, invalid
// bearer token", as a wrong cloud does.
//
// Host query (QueryDevicesByFilter): FQL `hostname:'NAME'` returns partial
// matches, hosts whose name starts with NAME in any case (PSFalcon wiki,
// "Falcon Query Language": "Many filters will automatically return partial
// matches"; only hostname:['NAME'] is exact, including case). Pages are
// `limit` ids (default 100, 1-5000) from `offset`, with
// meta.pagination.total counting every match; `sort` takes last_seen or
// hostname, .asc or .desc. Unsorted, the API promises no order: the fake
// lists the records added by AddDevice first, so a connector reading page
// 1 only misses what comes after them. Device details
// (GetDeviceDetailsV2) take at most 100 ids per request; more is a 400.
// AddDevice adds device records (AIDs) beside the inventory's: stale ones
// of a host (reimaged, VDI clones keep their old AIDs) or other hosts.

// csClouds lists the clouds the lab serves, with their path prefixes.
var csClouds = map[string]string{"us-1": "/crowdstrike", "us-2": "/crowdstrike-us-2", "eu-1": "/crowdstrike-eu-1"}

// csClientClouds is the home cloud of each lab API client.
var csClientClouds = map[string]struct{ secret, cloud string }{
	csClientID:    {csClientSecret, "us-1"},
	csUS2ClientID: {csUS2ClientSecret, "us-2"},
}

func csAudience(cloud string) string {
	if cloud == "us-1" {
		return vendorName
	}
	return vendorName + "-" + cloud
}

func csErrors(w http.ResponseWriter, status int, msgs ...string) {
	var errs []map[string]any
	for _, m := range msgs {
		errs = append(errs, map[string]any{"code": status, "message": m})
	}
	// Recorded Falcon error answers carry meta and errors only, no
	// resources (testdata/oauth2-token-403.json, error-403-gateway.json).
	labkit.WriteJSON(w, status, map[string]any{"meta": csMeta(), "errors": errs})
}

func csMeta() map[string]any {
	return map[string]any{"query_time": 0.001, "powered_by": "lab", "trace_id": labkit.StableID(time.Now().String(), 32)}
}

func csFault(w http.ResponseWriter, f *labkit.Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("X-RateLimit-Limit", "6000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-RetryAfter", labkit.Epoch(f.RetryAfter))
		csErrors(w, f.Status, "API rate limit exceeded.")
	case f.Status == http.StatusUnauthorized:
		csErrors(w, f.Status, "access denied, invalid bearer token")
	default:
		csErrors(w, f.Status, http.StatusText(f.Status))
	}
}

var (
	fqlHostnameRe = regexp.MustCompile(`^hostname:\s*'([^']*)'$`)
	fqlSortRe     = regexp.MustCompile(`^(last_seen|hostname)(?:\.|\|)(asc|desc)$`)
)

// csMaxDetailIDs is the most ids GetDeviceDetailsV2 takes in one request.
const csMaxDetailIDs = 100

// AddDevice adds a device record (AID) named hostname, last seen at
// lastSeen, beside the inventory's: a stale record of an inventory host
// (a reimage or a VDI clone leaves its old AID behind; actions on it
// reach no host) or a host only Falcon knows. It returns the AID.
func (fk *Fake) AddDevice(hostname string, lastSeen time.Time) string {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	h := &labkit.Host{Name: hostname, OS: "Windows", FQDN: hostname, LastSeen: lastSeen.UTC().Truncate(time.Second), Index: -1}
	d := &csHost{Host: h, id: labkit.StableID(fmt.Sprintf("cs:%s#%d", hostname, len(fk.extra)), 32), status: "normal"}
	fk.extra = append(fk.extra, d)
	return d.id
}

// ExtraActions counts the containment actions that reached device records
// added by AddDevice.
func (fk *Fake) ExtraActions() int {
	n := 0
	for _, c := range fk.Calls() {
		if c.Vendor == vendorName && strings.HasPrefix(c.Note, "added device") {
			n++
		}
	}
	return n
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	for cloud, prefix := range csClouds {
		fk.crowdstrikeCloudRoutes(mux, cloud, prefix)
	}
}

func (fk *Fake) crowdstrikeCloudRoutes(mux *http.ServeMux, cloud, prefix string) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !fk.Bearer(r, csAudience(cloud)) {
				csErrors(w, http.StatusUnauthorized, "access denied, invalid bearer token")
				return
			}
			h(w, r)
		}
	}
	fk.Handle(mux, vendorName, "POST "+prefix+"/oauth2/token", labkit.TokenRoute, csFault, func(w http.ResponseWriter, r *http.Request) {
		if !labkit.IsForm(r) {
			csErrors(w, http.StatusBadRequest, "Content-Type must be application/x-www-form-urlencoded")
			return
		}
		if err := r.ParseForm(); err != nil {
			csErrors(w, http.StatusBadRequest, "invalid form body")
			return
		}
		id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		if id == "" || secret == "" {
			csErrors(w, http.StatusBadRequest, "client_id and client_secret are required")
			return
		}
		client, ok := csClientClouds[id]
		if !ok || secret != client.secret {
			csErrors(w, http.StatusForbidden, "access denied, authorization failed")
			return
		}
		w.Header().Set("X-Cs-Region", client.cloud)
		if client.cloud != cloud {
			// Another cloud's client: the gateway redirects the token
			// request to the client's home cloud, 308 with an empty body
			// and X-CS-Region (a real answer quoted in CrowdStrike's
			// ansible_collection_falcon issue #217).
			w.Header().Set("Location", fk.CloudURL(client.cloud)+"/oauth2/token")
			w.WriteHeader(http.StatusPermanentRedirect)
			return
		}
		labkit.WriteJSON(w, http.StatusCreated, map[string]any{"access_token": fk.IssueToken(csAudience(client.cloud), 30*time.Minute), "token_type": "bearer", "expires_in": 1799})
	})
	fk.Handle(mux, vendorName, "GET "+prefix+"/devices/queries/devices/v1", labkit.ReadRoute, csFault, auth(func(w http.ResponseWriter, r *http.Request) {
		filter := r.URL.Query().Get("filter")
		limit, offset := 100, 0
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 5000 {
				csErrors(w, http.StatusBadRequest, "limit must be between 1 and 5000")
				return
			}
			limit = n
		}
		if v := r.URL.Query().Get("offset"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				csErrors(w, http.StatusBadRequest, "offset must be a non-negative integer")
				return
			}
			offset = n
		}
		var sortBy []string
		if v := r.URL.Query().Get("sort"); v != "" {
			sortBy = fqlSortRe.FindStringSubmatch(v)
			if sortBy == nil {
				csErrors(w, http.StatusBadRequest, "Invalid sort: the lab supports last_seen or hostname, .asc or .desc")
				return
			}
		}
		prefix := ""
		if filter != "" {
			m := fqlHostnameRe.FindStringSubmatch(strings.TrimSpace(filter))
			if m == nil {
				csErrors(w, http.StatusBadRequest, "Invalid filter: the lab supports hostname:'NAME'")
				return
			}
			prefix = strings.ToLower(m[1])
		}
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		var found []*csHost
		for _, h := range append(append([]*csHost(nil), fk.extra...), fk.hosts()...) {
			// hostname:'NAME' matches partially: every name starting so.
			if strings.HasPrefix(strings.ToLower(h.Name), prefix) {
				found = append(found, h)
			}
		}
		if sortBy != nil {
			sort.SliceStable(found, func(i, j int) bool {
				a, b := found[i], found[j]
				if sortBy[2] == "desc" {
					a, b = b, a
				}
				if sortBy[1] == "hostname" {
					return strings.ToLower(a.Name) < strings.ToLower(b.Name)
				}
				return a.LastSeen.Before(b.LastSeen)
			})
		}
		ids := []string{}
		for _, h := range found {
			ids = append(ids, h.id)
		}
		// One page of ids, with meta.pagination as in the recorded answer
		// (testdata/devices-query.json).
		total := len(ids)
		ids = ids[min(offset, total):min(offset+limit, total)]
		meta := csMeta()
		meta["pagination"] = map[string]any{"offset": offset, "limit": limit, "total": total}
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"meta": meta, "resources": ids, "errors": []any{}})
	}))
	fk.Handle(mux, vendorName, "GET "+prefix+"/devices/entities/devices/v2", labkit.ReadRoute, csFault, auth(func(w http.ResponseWriter, r *http.Request) {
		ids := r.URL.Query()["ids"]
		if len(ids) == 0 {
			csErrors(w, http.StatusBadRequest, "ids is required")
			return
		}
		if len(ids) > csMaxDetailIDs {
			csErrors(w, http.StatusBadRequest, fmt.Sprintf("ids: at most %d ids per request, got %d", csMaxDetailIDs, len(ids)))
			return
		}
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		var res []map[string]any
		for _, id := range ids {
			for _, h := range fk.all() {
				if h.id == id {
					res = append(res, map[string]any{"device_id": h.id, "hostname": h.Name, "status": fk.csReported(h),
						"platform_name": h.OS, "last_seen": h.LastSeen.Format(time.RFC3339)})
				}
			}
		}
		if len(res) == 0 {
			csErrors(w, http.StatusNotFound, "Devices not found")
			return
		}
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"meta": csMeta(), "resources": res, "errors": []any{}})
	}))
	fk.Handle(mux, vendorName, "POST "+prefix+"/devices/entities/devices-actions/v2", labkit.MutateRoute, csFault, auth(func(w http.ResponseWriter, r *http.Request) {
		action := r.URL.Query().Get("action_name")
		switch action {
		case "contain", "lift_containment":
		case "":
			csErrors(w, http.StatusBadRequest, "action_name is required")
			return
		default:
			csErrors(w, http.StatusBadRequest, "action_name "+action+" is not supported by the lab (contain, lift_containment)")
			return
		}
		if !labkit.IsJSON(r) {
			csErrors(w, http.StatusBadRequest, "Content-Type must be application/json")
			return
		}
		body, err := labkit.DecodeBody(r)
		if err != nil {
			csErrors(w, http.StatusBadRequest, "invalid JSON body")
			return
		}
		raw, _ := body["ids"].([]any)
		if len(raw) == 0 {
			csErrors(w, http.StatusBadRequest, "ids is required: {\"ids\": [\"<device id>\"]}")
			return
		}
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		var res []map[string]any
		var errs []map[string]any
		for _, v := range raw {
			id, _ := v.(string)
			var h *csHost
			for _, x := range fk.all() {
				if x.id == id {
					h = x
				}
			}
			if h == nil {
				errs = append(errs, map[string]any{"code": 404, "message": "Device not found", "id": id})
				continue
			}
			want := "contained"
			if action == "lift_containment" {
				want = "normal"
			}
			note := ""
			if h.Index < 0 {
				note = "added device " + h.id
			}
			if h.status == want {
				// A device already in the state asked is an error of code
				// 409, not a resource (CrowdStrike's Ansible collection,
				// host_contain.py: "Host already in desired state").
				fk.Record(r, vendorName, action, h.Name, false, http.StatusConflict, strings.TrimSpace(note+" already "+want))
				errs = append(errs, map[string]any{"code": 409, "message": fmt.Sprintf("Device %s is already %s", h.id, want), "id": h.id})
				continue
			}
			h.status, h.since = want, time.Now().UTC()
			fk.Record(r, vendorName, action, h.Name, true, http.StatusAccepted, note)
			res = append(res, map[string]any{"id": h.id, "path": ""})
		}
		status := http.StatusAccepted
		switch {
		case len(res) > 0:
		case len(errs) > 0 && errs[0]["code"] == 409:
			status = http.StatusConflict
		default:
			status = http.StatusNotFound
		}
		if errs == nil {
			errs = []map[string]any{}
		}
		labkit.WriteJSON(w, status, map[string]any{"meta": csMeta(), "resources": res, "errors": errs})
	}))
}

// Client returns a crowdstrike connection for the lab API client
// whose home is homeCloud (us-1 or us-2), pointed at baseURL (the lab's
// CloudURL(cloud) or an official API URL a test routes to the lab).
func (fk *Fake) Client(homeCloud, baseURL string) connector.Connection {
	id, secret := csClientID, csClientSecret
	if homeCloud == "us-2" {
		id, secret = csUS2ClientID, csUS2ClientSecret
	}
	return connector.Connection{Type: "crowdstrike", BaseURL: baseURL, Options: map[string]string{"client_id": id},
		Secrets: map[string]connector.SecretRef{"client_secret": {Lab: secret}}}
}

// CloudURL is the lab's base URL of a CrowdStrike cloud.
func (fk *Fake) CloudURL(cloud string) string { return fk.URL + csClouds[cloud] }

// csReported is the device status the API reports: the sensor takes a
// while to apply an action, so for SetPending's duration after one the
// status is containment_pending or lift_containment_pending (the values
// of the Falcon device "status" field). Callers hold fk.Mu.
func (fk *Fake) csReported(h *csHost) string {
	if fk.Pending > 0 && !h.since.IsZero() && time.Since(h.since) < fk.Pending {
		if h.status == "contained" {
			return "containment_pending"
		}
		return "lift_containment_pending"
	}
	return h.status
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "crowdstrike"

// Lab credentials. They are public test constants, not secrets.
const (
	csClientID     = "lab-cs-client"
	csClientSecret = "lab-cs-secret"
	// csUS2ClientID is a lab API client whose home is the us-2 cloud.
	csUS2ClientID     = "lab-cs-us2-client"
	csUS2ClientSecret = "lab-cs-us2-secret"
)

// csHost is a host as the Falcon cloud knows it.
type csHost struct {
	*labkit.Host
	id, status string // status: normal, contained
	since      time.Time
}

// Fake is the lab's CrowdStrike Falcon fake (see the top of this file).
type Fake struct {
	labkit.Base
	state map[*labkit.Host]*csHost
	extra []*csHost // device records added by AddDevice
}

// NewFake returns the fake, serving on the lab of k.
func NewFake(k *labkit.Kit) *Fake {
	return &Fake{Base: labkit.NewBase(k, vendorName), state: map[*labkit.Host]*csHost{}}
}

// hosts lists every inventory host's Falcon state. Callers hold Mu.
func (fk *Fake) hosts() []*csHost { return labkit.States(fk.Kit.Hosts, fk.state, newCSHost) }

// all lists the inventory hosts' Falcon state and the added device
// records. Callers hold Mu.
func (fk *Fake) all() []*csHost { return append(fk.hosts(), fk.extra...) }

func newCSHost(h *labkit.Host) *csHost {
	return &csHost{Host: h, id: labkit.StableID("cs:"+h.Name, 32), status: "normal"}
}

// Connections implements labkit.Fake.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{vendorName: fk.Client("us-1", fk.CloudURL("us-1"))}
}

// Snapshot implements labkit.Fake: contained hosts.
func (fk *Fake) Snapshot(st *labkit.State) {
	for _, h := range fk.all() {
		if h.Index >= 0 {
			st.Hosts[h.Index].CrowdStrike = h.status
		}
		if h.status == "contained" {
			st.ContainedHosts = append(st.ContainedHosts, labkit.ContainedHost{Vendor: vendorName, Hostname: h.Name, ID: h.id, Since: h.since})
		}
	}
}
