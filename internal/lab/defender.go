package lab

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Microsoft identity platform fake (client-credentials token endpoint) and
// Defender for Endpoint fake: machines by computerDnsName, machine
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
// progress" (SetPending makes actions stay Pending that long).

// msScopes maps the scopes the lab accepts to token audiences.
var msScopes = map[string]string{
	"https://api.securitycenter.microsoft.com/.default": Defender,
	"https://api.security.microsoft.com/.default":       Defender,
	"https://graph.microsoft.com/.default":              Entra,
}

var msApps = map[string]string{defClientID: defSecret, graphClientID: graphSecret}

func msError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func msFault(w http.ResponseWriter, f *Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", seconds(f.RetryAfter))
		msError(w, f.Status, "TooManyRequests", "Rate limit is exceeded. Try again later.")
	case f.Status == http.StatusUnauthorized:
		msError(w, f.Status, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
	case f.Status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", seconds(f.RetryAfter))
		msError(w, f.Status, "ServiceUnavailable", "Service is temporarily unavailable.")
	default:
		msError(w, f.Status, "InternalServerError", http.StatusText(f.Status))
	}
}

func loginFault(w http.ResponseWriter, f *Fault) {
	if f.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", seconds(f.RetryAfter))
	}
	writeJSON(w, f.Status, map[string]any{"error": "temporarily_unavailable", "error_description": "AADSTS90033: injected fault"})
}

func (l *Lab) loginRoutes(mux *http.ServeMux) {
	l.handle(mux, Login, "POST /login/{tenant}/oauth2/v2.0/token", tokenRoute, loginFault, func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, code, desc string) {
			writeJSON(w, status, map[string]any{"error": code, "error_description": desc})
		}
		if r.PathValue("tenant") != msTenant {
			fail(http.StatusBadRequest, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", r.PathValue("tenant")))
			return
		}
		if !isForm(r) || r.ParseForm() != nil {
			fail(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
			return
		}
		f := r.PostForm
		if f.Get("grant_type") != "client_credentials" {
			fail(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
			return
		}
		secret, ok := msApps[f.Get("client_id")]
		if !ok {
			fail(http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", f.Get("client_id")))
			return
		}
		if f.Get("client_secret") != secret {
			fail(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
			return
		}
		aud, ok := msScopes[f.Get("scope")]
		if !ok {
			fail(http.StatusBadRequest, "invalid_scope", fmt.Sprintf("AADSTS1002012: The provided value for scope %s is not valid.", f.Get("scope")))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
			"access_token": l.issueToken(aud, time.Hour)})
	})
}

type defAction struct {
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
// come. Callers hold l.mu.
func (l *Lab) settleDefender(h *host) {
	now := time.Now().UTC()
	for _, a := range h.defActions {
		if a.Status == "Pending" && !now.Before(a.doneAt) {
			a.Status, a.Updated = "Succeeded", now
		}
	}
}

// defPending returns the machine's isolation action still pending, if any.
func (h *host) defPending() *defAction {
	for _, a := range h.defActions {
		if (a.Type == "Isolate" || a.Type == "Unisolate") && (a.Status == "Pending" || a.Status == "InProgress") {
			return a
		}
	}
	return nil
}

var (
	odataEqRe         = regexp.MustCompile(`^computerDnsName eq '([^']*)'$`)
	odataStartsRe     = regexp.MustCompile(`^startswith\(computerDnsName,\s*'([^']*)'\)$`)
	odataMachineIDRe  = regexp.MustCompile(`^machineId eq '([^']*)'(?: and type eq '([A-Za-z]+)')?$`)
	defenderKnownKeys = map[string]bool{"Comment": true, "IsolationType": true}
)

func (l *Lab) defenderRoutes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !l.bearer(r, Defender) {
				msError(w, http.StatusUnauthorized, "Unauthorized", "Authorization has been denied for this request.")
				return
			}
			h(w, r)
		}
	}
	machine := func(h *host) map[string]any {
		return map[string]any{"id": h.defID, "computerDnsName": h.fqdn, "osPlatform": h.os, "healthStatus": "Active",
			"onboardingStatus": "Onboarded", "lastSeen": h.lastSeen.Format(time.RFC3339), "riskScore": "Medium"}
	}
	l.handle(mux, Defender, "GET /defender/api/machines", readRoute, msFault, auth(func(w http.ResponseWriter, r *http.Request) {
		filter := strings.TrimSpace(r.URL.Query().Get("$filter"))
		l.mu.Lock()
		defer l.mu.Unlock()
		out := []map[string]any{}
		var match func(*host) bool
		switch {
		case filter == "":
			match = func(*host) bool { return true }
		case odataEqRe.MatchString(filter):
			v := odataEqRe.FindStringSubmatch(filter)[1]
			match = func(h *host) bool { return strings.ToLower(h.fqdn) == v }
		case odataStartsRe.MatchString(filter):
			v := odataStartsRe.FindStringSubmatch(filter)[1]
			match = func(h *host) bool { return strings.HasPrefix(strings.ToLower(h.fqdn), v) }
		default:
			msError(w, http.StatusBadRequest, "InvalidRequest", "Invalid filter clause (the lab supports computerDnsName eq '…' and startswith(computerDnsName,'…'))")
			return
		}
		for _, h := range l.hosts {
			if match(h) {
				out = append(out, machine(h))
			}
		}
		if len(out) == 0 {
			// "If there are no recent machines, you see 404 Not Found."
			msError(w, http.StatusNotFound, "NotFound", "No machines found")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://api.securitycenter.microsoft.com/api/$metadata#Machines", "value": out})
	}))
	l.handle(mux, Defender, "GET /defender/api/machineactions", readRoute, msFault, auth(func(w http.ResponseWriter, r *http.Request) {
		filter := strings.TrimSpace(r.URL.Query().Get("$filter"))
		m := odataMachineIDRe.FindStringSubmatch(filter)
		if filter != "" && m == nil {
			msError(w, http.StatusBadRequest, "InvalidRequest", "Invalid filter clause (the lab supports machineId eq '…' [and type eq '…'])")
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		out := []*defAction{}
		for _, h := range l.hosts {
			l.settleDefender(h)
			for _, a := range h.defActions {
				if m == nil || (a.MachineID == m[1] && (m[2] == "" || a.Type == m[2])) {
					out = append(out, a)
				}
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://api.securitycenter.microsoft.com/api/$metadata#MachineActions", "value": out})
	}))
	act := func(kind string) http.HandlerFunc {
		return auth(func(w http.ResponseWriter, r *http.Request) {
			if !isJSON(r) {
				msError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/json")
				return
			}
			body, err := decodeBody(r)
			if err != nil {
				msError(w, http.StatusBadRequest, "InvalidRequestBody", "Request body is not valid JSON")
				return
			}
			for k := range body {
				if !defenderKnownKeys[k] {
					msError(w, http.StatusBadRequest, "InvalidRequestBody", fmt.Sprintf("Unknown property '%s' (body keys are case-sensitive: Comment, IsolationType)", k))
					return
				}
			}
			comment, _ := body["Comment"].(string)
			if strings.TrimSpace(comment) == "" {
				msError(w, http.StatusBadRequest, "InvalidRequestBody", "Comment is required")
				return
			}
			scope := ""
			if kind == "Isolate" {
				scope = "Full"
				if v, ok := body["IsolationType"]; ok {
					s, _ := v.(string)
					if s != "Full" && s != "Selective" {
						msError(w, http.StatusBadRequest, "InvalidRequestBody", fmt.Sprintf("IsolationType must be Full or Selective, got %v", v))
						return
					}
					scope = s
				}
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			var h *host
			for _, x := range l.hosts {
				if x.defID == r.PathValue("id") {
					h = x
				}
			}
			if h == nil {
				msError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("Machine %s was not found", r.PathValue("id")))
				return
			}
			l.settleDefender(h)
			isolated := h.defIsolated()
			if (kind == "Isolate" && isolated) || h.defPending() != nil {
				l.record(r, Defender, strings.ToLower(kind), h.name, false, http.StatusBadRequest, "already in progress")
				msError(w, http.StatusBadRequest, "BadRequest", "Action is already in progress")
				return
			}
			now := time.Now().UTC()
			a := &defAction{ID: guid(fmt.Sprint(now.UnixNano(), h.defID, kind)), Type: kind, Scope: scope, Requestor: "lab-app",
				Comment: comment, Status: "Pending", MachineID: h.defID, DNSName: h.fqdn, Created: now, Updated: now}
			h.defActions = append(h.defActions, a)
			changed := isolated != (kind == "Isolate")
			if changed {
				h.defSince = now
			}
			l.record(r, Defender, strings.ToLower(kind), h.name, changed, http.StatusCreated, "")
			resp := *a
			// The device picks the action up after the lab's pending time.
			a.doneAt = now.Add(l.pending)
			l.settleDefender(h)
			writeJSON(w, http.StatusCreated, resp)
		})
	}
	l.handle(mux, Defender, "POST /defender/api/machines/{id}/isolate", mutateRoute, msFault, act("Isolate"))
	l.handle(mux, Defender, "POST /defender/api/machines/{id}/unisolate", mutateRoute, msFault, act("Unisolate"))
}
