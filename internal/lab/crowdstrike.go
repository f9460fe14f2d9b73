package lab

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/activities"
)

// CrowdStrike Falcon fake: OAuth2 token (201), host query by FQL hostname,
// device details, containment actions (202). Errors come in errors[]; 429
// carries X-RateLimit-RetryAfter (epoch seconds).
//
// Clouds: the fake serves us-1 under /crowdstrike and us-2, eu-1 under
// /crowdstrike-us-2, /crowdstrike-eu-1. Every token answer carries the
// client's home cloud in X-CS-Region (the header gofalcon's and falconpy's
// region autodiscovery read, declared on POST /oauth2/token 201 in the
// Falcon swagger); a token used on another cloud's API gets 401 "access
// denied, invalid bearer token", as a wrong cloud does.

// csClouds lists the clouds the lab serves, with their path prefixes.
var csClouds = map[string]string{"us-1": "/crowdstrike", "us-2": "/crowdstrike-us-2", "eu-1": "/crowdstrike-eu-1"}

// csClientClouds is the home cloud of each lab API client.
var csClientClouds = map[string]struct{ secret, cloud string }{
	csClientID:    {csClientSecret, "us-1"},
	csUS2ClientID: {csUS2ClientSecret, "us-2"},
}

func csAudience(cloud string) string {
	if cloud == "us-1" {
		return CrowdStrike
	}
	return CrowdStrike + "-" + cloud
}

func csErrors(w http.ResponseWriter, status int, msgs ...string) {
	var errs []map[string]any
	for _, m := range msgs {
		errs = append(errs, map[string]any{"code": status, "message": m})
	}
	writeJSON(w, status, map[string]any{"meta": csMeta(), "resources": []any{}, "errors": errs})
}

func csMeta() map[string]any {
	return map[string]any{"query_time": 0.001, "powered_by": "lab", "trace_id": stableID(time.Now().String(), 32)}
}

func csFault(w http.ResponseWriter, f *Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("X-RateLimit-Limit", "6000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-RetryAfter", epoch(f.RetryAfter))
		csErrors(w, f.Status, "API rate limit exceeded.")
	case f.Status == http.StatusUnauthorized:
		csErrors(w, f.Status, "access denied, invalid bearer token")
	default:
		csErrors(w, f.Status, http.StatusText(f.Status))
	}
}

var fqlHostnameRe = regexp.MustCompile(`^hostname:\s*'([^']*)'$`)

func (l *Lab) crowdstrikeRoutes(mux *http.ServeMux) {
	for cloud, prefix := range csClouds {
		l.crowdstrikeCloudRoutes(mux, cloud, prefix)
	}
}

func (l *Lab) crowdstrikeCloudRoutes(mux *http.ServeMux, cloud, prefix string) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !l.bearer(r, csAudience(cloud)) {
				csErrors(w, http.StatusUnauthorized, "access denied, invalid bearer token")
				return
			}
			h(w, r)
		}
	}
	l.handle(mux, CrowdStrike, "POST "+prefix+"/oauth2/token", tokenRoute, csFault, func(w http.ResponseWriter, r *http.Request) {
		if !isForm(r) {
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
		writeJSON(w, http.StatusCreated, map[string]any{"access_token": l.issueToken(csAudience(client.cloud), 30*time.Minute), "token_type": "bearer", "expires_in": 1799})
	})
	l.handle(mux, CrowdStrike, "GET "+prefix+"/devices/queries/devices/v1", readRoute, csFault, auth(func(w http.ResponseWriter, r *http.Request) {
		filter := r.URL.Query().Get("filter")
		ids := []string{}
		l.mu.Lock()
		defer l.mu.Unlock()
		if filter != "" {
			m := fqlHostnameRe.FindStringSubmatch(strings.TrimSpace(filter))
			if m == nil {
				csErrors(w, http.StatusBadRequest, "Invalid filter: the lab supports hostname:'NAME'")
				return
			}
			if h := l.hostByName(m[1]); h != nil {
				ids = append(ids, h.csID)
			}
		} else {
			for _, h := range l.hosts {
				ids = append(ids, h.csID)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"meta": csMeta(), "resources": ids, "errors": []any{}})
	}))
	l.handle(mux, CrowdStrike, "GET "+prefix+"/devices/entities/devices/v2", readRoute, csFault, auth(func(w http.ResponseWriter, r *http.Request) {
		ids := r.URL.Query()["ids"]
		if len(ids) == 0 {
			csErrors(w, http.StatusBadRequest, "ids is required")
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		var res []map[string]any
		for _, id := range ids {
			for _, h := range l.hosts {
				if h.csID == id {
					res = append(res, map[string]any{"device_id": h.csID, "hostname": h.name, "status": l.csReported(h),
						"platform_name": h.os, "last_seen": h.lastSeen.Format(time.RFC3339)})
				}
			}
		}
		if len(res) == 0 {
			csErrors(w, http.StatusNotFound, "Devices not found")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"meta": csMeta(), "resources": res, "errors": []any{}})
	}))
	l.handle(mux, CrowdStrike, "POST "+prefix+"/devices/entities/devices-actions/v2", mutateRoute, csFault, auth(func(w http.ResponseWriter, r *http.Request) {
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
		if !isJSON(r) {
			csErrors(w, http.StatusBadRequest, "Content-Type must be application/json")
			return
		}
		body, err := decodeBody(r)
		if err != nil {
			csErrors(w, http.StatusBadRequest, "invalid JSON body")
			return
		}
		raw, _ := body["ids"].([]any)
		if len(raw) == 0 {
			csErrors(w, http.StatusBadRequest, "ids is required: {\"ids\": [\"<device id>\"]}")
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		var res []map[string]any
		var errs []map[string]any
		for _, v := range raw {
			id, _ := v.(string)
			var h *host
			for _, x := range l.hosts {
				if x.csID == id {
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
			changed := h.csStatus != want
			if changed {
				h.csStatus, h.csSince = want, time.Now().UTC()
			}
			l.record(r, CrowdStrike, action, h.name, changed, http.StatusAccepted, "")
			res = append(res, map[string]any{"id": h.csID, "path": ""})
		}
		status := http.StatusAccepted
		if len(res) == 0 {
			status = http.StatusNotFound
		}
		if errs == nil {
			errs = []map[string]any{}
		}
		writeJSON(w, status, map[string]any{"meta": csMeta(), "resources": res, "errors": errs})
	}))
}

// CrowdStrikeClient returns a crowdstrike connection for the lab API client
// whose home is homeCloud (us-1 or us-2), pointed at baseURL (the lab's
// CrowdStrikeURL(cloud) or an official API URL a test routes to the lab).
func (l *Lab) CrowdStrikeClient(homeCloud, baseURL string) activities.Connection {
	id, secret := csClientID, csClientSecret
	if homeCloud == "us-2" {
		id, secret = csUS2ClientID, csUS2ClientSecret
	}
	return activities.Connection{Type: "crowdstrike", BaseURL: baseURL, Options: map[string]string{"client_id": id},
		Secrets: map[string]activities.SecretRef{"client_secret": {Lab: secret}}}
}

// CrowdStrikeURL is the lab's base URL of a CrowdStrike cloud.
func (l *Lab) CrowdStrikeURL(cloud string) string { return l.url + csClouds[cloud] }

// csReported is the device status the API reports: the sensor takes a
// while to apply an action, so for SetPending's duration after one the
// status is containment_pending or lift_containment_pending (the values
// of the Falcon device "status" field). Callers hold l.mu.
func (l *Lab) csReported(h *host) string {
	if l.pending > 0 && !h.csSince.IsZero() && time.Since(h.csSince) < l.pending {
		if h.csStatus == "contained" {
			return "containment_pending"
		}
		return "lift_containment_pending"
	}
	return h.csStatus
}
