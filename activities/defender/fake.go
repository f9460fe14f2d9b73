package defender

import (
	"embed"
	"fmt"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Defender for Endpoint fake (tokens come from the lab's Microsoft
// identity platform, labkit.MicrosoftLoginRoutes): machines by computerDnsName, machine
// actions, isolate/unisolate (201 MachineAction). A repeated isolation
// while one is in force answers 400 "Action is already in progress".
//
// Sources: learn.microsoft.com/defender-endpoint/api: "List machines API"
// (a query with no recent machine answers 404 Not Found; computerDnsName
// holds the lower-case FQDN and eq compares it exactly), "Isolate machine
// API" / "Release device from isolation API" (201 MachineAction, status
// Pending until the device picks the action up), "Common Microsoft
// Defender for Endpoint API errors" (codes BadRequest, InvalidRequestBody,
// NotFound, ResourceNotFound, TooManyRequests; the message is free text).
// While an isolation action is Pending or InProgress, another isolation
// action on the machine answers 400 BadRequest "Action is already in
// progress" (SetPending makes actions stay Pending that long). "List
// MachineActions API": pages of at most 10,000 actions, $top (at most
// 10,000) and $skip; without $top the rest is linked by @odata.nextLink
// (OData V4), with it the client asks the next $skip.
//
// Defender knows machines by computerDnsName, so one short name can name
// several machines in different DNS domains, all listed by
// `startswith(computerDnsName,'<name>.')` (List machines supports
// startswith on computerDnsName: "OData queries with Microsoft Defender for
// Endpoint"). Besides the shared inventory the fake holds machines only it
// knows (AddMachine): it seeds web01.corp.example.com and
// web01.dmz.example.com, two servers behind the short name web01, and tests
// add stale records of a machine re-onboarded under the same name.

// The documented shapes the fake answers in (testdata/README.md).
var (
	//go:embed testdata/machines.json testdata/machineaction.json
	samples       embed.FS
	sampleMachine = labkit.Sample(samples, "testdata/machines.json")["value"].([]any)[0].(map[string]any)
	sampleAction  = labkit.Sample(samples, "testdata/machineaction.json")
)

// doc is the action as the API answers it: the documented MachineAction.
func (a *fakeAction) doc() map[string]any {
	var scope any
	if a.Scope != "" {
		scope = a.Scope
	}
	m := labkit.Overlay(sampleAction, map[string]any{"id": a.ID, "type": a.Type, "scope": scope, "requestor": a.Requestor,
		"requestorComment": a.Comment, "status": a.Status, "machineId": a.MachineID, "computerDnsName": a.DNSName,
		"creationDateTimeUtc": a.Created.Format(time.RFC3339Nano), "lastUpdateDateTimeUtc": a.Updated.Format(time.RFC3339Nano)})
	delete(m, "@odata.context") // an entity inside a collection carries none
	return m
}

type fakeAction struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Scope     string    `json:"scope,omitempty"`
	Requestor string    `json:"requestor"`
	Comment   string    `json:"requestorComment"`
	Status    string    `json:"status"`
	MachineID string    `json:"machineId"`
	DNSName   string    `json:"computerDnsName"`
	Created   time.Time `json:"creationDateTimeUtc"`
	Updated   time.Time `json:"lastUpdateDateTimeUtc"`

	doneAt time.Time // when a Pending action succeeds
}

// settleDefender completes the machine's pending actions whose time has
// come. Callers hold fk.Mu.
func (fk *Fake) settleDefender(h *defHost) {
	now := time.Now().UTC()
	for _, a := range h.actions {
		if a.Status == "Pending" && !now.Before(a.doneAt) {
			a.Status, a.Updated = "Succeeded", now
		}
	}
}

// defPending returns the machine's isolation action still pending, if any.
func (h *defHost) defPending() *fakeAction {
	for _, a := range h.actions {
		if (a.Type == "Isolate" || a.Type == "Unisolate") && (a.Status == "Pending" || a.Status == "InProgress") {
			return a
		}
	}
	return nil
}

// fakeActionsPageMax is List MachineActions' largest page ("Limitations:
// Maximum page size is 10,000").
const fakeActionsPageMax = 10000

var (
	odataEqRe         = regexp.MustCompile(`^computerDnsName eq '([^']*)'$`)
	odataStartsRe     = regexp.MustCompile(`^startswith\(computerDnsName,\s*'([^']*)'\)$`)
	odataMachineIDRe  = regexp.MustCompile(`^machineId eq '([^']*)'(?: and type eq '([A-Za-z]+)')?$`)
	defenderKnownKeys = map[string]bool{"Comment": true, "IsolationType": true}
)

// defNamesakes are the machines only Defender knows, seeded in every lab:
// two servers whose short name is web01, in two DNS domains.
var defNamesakes = []string{"web01.corp.example.com", "web01.dmz.example.com"}

// AddMachine adds a machine only Defender knows (it is not in the lab's
// shared inventory), by computerDnsName and last seen time: a namesake of
// another machine in another DNS domain, or a stale record left by a
// machine re-onboarded under the same name. It returns the machine id.
func (fk *Fake) AddMachine(fqdn string, lastSeen time.Time) string {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	return fk.addMachine(fqdn, lastSeen)
}

// addMachine is AddMachine for callers that hold Mu.
func (fk *Fake) addMachine(fqdn string, lastSeen time.Time) string {
	short, _, _ := strings.Cut(fqdn, ".")
	h := &labkit.Host{Name: short, OS: "Windows", FQDN: fqdn, LastSeen: lastSeen.UTC().Truncate(time.Second), Index: -1}
	id := labkit.StableID(fmt.Sprintf("def:%s#%d", strings.ToLower(fqdn), len(fk.extra)), 40)
	fk.extra = append(fk.extra, h)
	fk.state[h] = &defHost{Host: h, id: id}
	return id
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !fk.Bearer(r, vendorName) {
				labkit.MSError(w, http.StatusUnauthorized, "Unauthorized", "Authorization has been denied for this request.")
				return
			}
			h(w, r)
		}
	}
	machine := func(h *defHost) map[string]any {
		return labkit.Overlay(sampleMachine, map[string]any{"id": h.id, "computerDnsName": h.FQDN, "osPlatform": h.OS,
			"firstSeen": h.LastSeen.Add(-90 * 24 * time.Hour).Format(time.RFC3339), "lastSeen": h.LastSeen.Format(time.RFC3339),
			"riskScore": "Medium", "machineTags": []any{}})
	}
	fk.Handle(mux, vendorName, "GET /defender/api/machines", labkit.ReadRoute, labkit.MSFault, auth(func(w http.ResponseWriter, r *http.Request) {
		filter := strings.TrimSpace(r.URL.Query().Get("$filter"))
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		out := []map[string]any{}
		var match func(*defHost) bool
		switch {
		case filter == "":
			match = func(*defHost) bool { return true }
		case odataEqRe.MatchString(filter):
			v := odataEqRe.FindStringSubmatch(filter)[1]
			match = func(h *defHost) bool { return strings.ToLower(h.FQDN) == v }
		case odataStartsRe.MatchString(filter):
			v := odataStartsRe.FindStringSubmatch(filter)[1]
			match = func(h *defHost) bool { return strings.HasPrefix(strings.ToLower(h.FQDN), v) }
		default:
			labkit.MSError(w, http.StatusBadRequest, "InvalidRequest", "Invalid filter clause (the lab supports computerDnsName eq '…' and startswith(computerDnsName,'…'))")
			return
		}
		for _, h := range fk.hosts() {
			if match(h) {
				out = append(out, machine(h))
			}
		}
		if len(out) == 0 {
			// "If there are no recent machines, you see 404 Not Found."
			labkit.MSError(w, http.StatusNotFound, "NotFound", "No machines found")
			return
		}
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://api.securitycenter.microsoft.com/api/$metadata#Machines", "value": out})
	}))
	fk.Handle(mux, vendorName, "GET /defender/api/machineactions", labkit.ReadRoute, labkit.MSFault, auth(func(w http.ResponseWriter, r *http.Request) {
		filter := strings.TrimSpace(r.URL.Query().Get("$filter"))
		m := odataMachineIDRe.FindStringSubmatch(filter)
		if filter != "" && m == nil {
			labkit.MSError(w, http.StatusBadRequest, "InvalidRequest", "Invalid filter clause (the lab supports machineId eq '…' [and type eq '…'])")
			return
		}
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		out := []map[string]any{}
		for _, h := range fk.hosts() {
			fk.settleDefender(h)
			for _, a := range h.actions {
				if m == nil || (a.MachineID == m[1] && (m[2] == "" || a.Type == m[2])) {
					out = append(out, a.doc())
				}
			}
		}
		// Paging ("List MachineActions API", "Limitations": a page holds
		// at most 10,000 actions; $top at most 10,000, and $skip): $top
		// asks for that many from $skip on; without it the server pages
		// at 10,000 and links the rest with @odata.nextLink (OData V4).
		skip, top := 0, fakeActionsPageMax
		if v := r.URL.Query().Get("$skip"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				labkit.MSError(w, http.StatusBadRequest, "InvalidRequest", "Invalid $skip "+v)
				return
			}
			skip = n
		}
		asked := r.URL.Query().Get("$top")
		if asked != "" {
			// Above the documented maximum the lab refuses (what Defender
			// does then is not documented): a connector must not ask it.
			n, err := strconv.Atoi(asked)
			if err != nil || n < 0 || n > fakeActionsPageMax {
				labkit.MSError(w, http.StatusBadRequest, "InvalidRequest", fmt.Sprintf("Invalid $top %s: at most %d", asked, fakeActionsPageMax))
				return
			}
			top = n
		}
		page := out[min(skip, len(out)):]
		body := map[string]any{"@odata.context": "https://api.securitycenter.microsoft.com/api/$metadata#MachineActions"}
		if len(page) > top {
			page = page[:top]
			if asked == "" {
				q := r.URL.Query()
				q.Set("$skip", strconv.Itoa(skip+top))
				body["@odata.nextLink"] = fk.URL + r.URL.Path + "?" + q.Encode()
			}
		}
		body["value"] = page
		labkit.WriteJSON(w, http.StatusOK, body)
	}))
	act := func(kind string) http.HandlerFunc {
		return auth(func(w http.ResponseWriter, r *http.Request) {
			if !labkit.IsJSON(r) {
				labkit.MSError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/json")
				return
			}
			body, err := labkit.DecodeBody(r)
			if err != nil {
				labkit.MSError(w, http.StatusBadRequest, "InvalidRequestBody", "Request body is not valid JSON")
				return
			}
			for k := range body {
				if !defenderKnownKeys[k] {
					labkit.MSError(w, http.StatusBadRequest, "InvalidRequestBody", fmt.Sprintf("Unknown property '%s' (body keys are case-sensitive: Comment, IsolationType)", k))
					return
				}
			}
			comment, _ := body["Comment"].(string)
			if strings.TrimSpace(comment) == "" {
				labkit.MSError(w, http.StatusBadRequest, "InvalidRequestBody", "Comment is required")
				return
			}
			scope := ""
			if kind == "Isolate" {
				scope = "Full"
				if v, ok := body["IsolationType"]; ok {
					s, _ := v.(string)
					if s != "Full" && s != "Selective" {
						labkit.MSError(w, http.StatusBadRequest, "InvalidRequestBody", fmt.Sprintf("IsolationType must be Full or Selective, got %v", v))
						return
					}
					scope = s
				}
			}
			fk.Mu.Lock()
			defer fk.Mu.Unlock()
			var h *defHost
			for _, x := range fk.hosts() {
				if x.id == r.PathValue("id") {
					h = x
				}
			}
			if h == nil {
				labkit.MSError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("Machine %s was not found", r.PathValue("id")))
				return
			}
			fk.settleDefender(h)
			isolated := h.defIsolated()
			if (kind == "Isolate" && isolated) || h.defPending() != nil {
				fk.Record(r, vendorName, strings.ToLower(kind), h.label(), false, http.StatusBadRequest, "already in progress")
				labkit.MSError(w, http.StatusBadRequest, "BadRequest", "Action is already in progress")
				return
			}
			now := time.Now().UTC()
			a := &fakeAction{ID: labkit.GUID(fmt.Sprint(now.UnixNano(), h.id, kind)), Type: kind, Scope: scope, Requestor: "lab-app",
				Comment: comment, Status: "Pending", MachineID: h.id, DNSName: h.FQDN, Created: now, Updated: now}
			h.actions = append(h.actions, a)
			changed := isolated != (kind == "Isolate")
			if changed {
				h.since = now
			}
			fk.Record(r, vendorName, strings.ToLower(kind), h.label(), changed, http.StatusCreated, "")
			resp := a.doc()
			resp["@odata.context"] = sampleAction["@odata.context"]
			// The device picks the action up after the lab's pending time.
			a.doneAt = now.Add(fk.Pending)
			fk.settleDefender(h)
			labkit.WriteJSON(w, http.StatusCreated, resp)
		})
	}
	fk.Handle(mux, vendorName, "POST /defender/api/machines/{id}/isolate", labkit.MutateRoute, labkit.MSFault, act("Isolate"))
	fk.Handle(mux, vendorName, "POST /defender/api/machines/{id}/unisolate", labkit.MutateRoute, labkit.MSFault, act("Unisolate"))
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "defender"

// Lab credentials. They are public test constants, not secrets.
const (
	defClientID = "lab-defender-app"
	defSecret   = "lab-defender-secret"
)

// defHost is a machine as Defender for Endpoint knows it.
type defHost struct {
	*labkit.Host
	id      string
	actions []*fakeAction
	since   time.Time
}

// label names the machine in the lab's calls: the inventory name, or the
// computerDnsName of a machine only Defender knows (namesakes share a
// short name).
func (h *defHost) label() string {
	if h.Index < 0 {
		return h.FQDN
	}
	return h.Name
}

// defIsolated reports whether the latest isolation action is an Isolate.
func (h *defHost) defIsolated() bool {
	for i := len(h.actions) - 1; i >= 0; i-- {
		switch h.actions[i].Type {
		case "Isolate":
			return true
		case "Unisolate":
			return false
		}
	}
	return false
}

// Fake is the lab's Defender for Endpoint fake (see the top of this file).
type Fake struct {
	labkit.Base
	state map[*labkit.Host]*defHost
	extra []*labkit.Host // machines only Defender knows (AddMachine)
}

// NewFake returns the fake, serving on the lab of k. Its app signs in at
// the lab's Microsoft token endpoint with either documented scope.
func NewFake(k *labkit.Kit) *Fake {
	k.RegisterMicrosoftApp(defClientID, defSecret)
	k.RegisterMicrosoftScope("https://api.securitycenter.microsoft.com/.default", vendorName)
	k.RegisterMicrosoftScope("https://api.security.microsoft.com/.default", vendorName)
	fk := &Fake{Base: labkit.NewBase(k, vendorName), state: map[*labkit.Host]*defHost{}}
	now := time.Now().UTC()
	for i, fqdn := range defNamesakes {
		fk.addMachine(fqdn, now.Add(-time.Duration(10+i)*time.Minute))
	}
	return fk
}

// hosts lists every inventory host's Defender state, then the machines
// only Defender knows. Callers hold Mu.
func (fk *Fake) hosts() []*defHost {
	inv := labkit.States(fk.Kit.Hosts, fk.state, func(h *labkit.Host) *defHost {
		return &defHost{Host: h, id: labkit.StableID("def:"+h.Name, 40)}
	})
	for _, h := range fk.extra {
		inv = append(inv, fk.state[h])
	}
	return inv
}

// Connections implements labkit.Fake.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{
		vendorName: {Type: vendorName, BaseURL: fk.URL + "/defender",
			Options: map[string]string{"tenant_id": labkit.MSTenant, "client_id": defClientID, "token_url": fk.MicrosoftTokenURL()},
			Secrets: map[string]connector.SecretRef{"client_secret": labkit.Lit(defSecret)}},
	}
}

// Snapshot implements labkit.Fake: isolated machines.
func (fk *Fake) Snapshot(st *labkit.State) {
	for _, h := range fk.hosts() {
		if h.defIsolated() {
			if h.Index >= 0 {
				st.Hosts[h.Index].Defender = "isolated"
			}
			st.ContainedHosts = append(st.ContainedHosts, labkit.ContainedHost{Vendor: vendorName, Hostname: h.FQDN, ID: h.id, Since: h.since})
		}
	}
}
