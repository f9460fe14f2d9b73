package lab

import (
	"fmt"
	"net/http"
	"time"
)

// PagerDuty Events API v2 fake: POST /v2/enqueue answers 202; invalid
// events get 400 {"status":"invalid event","errors":[…]}. A trigger with
// the dedup_key of an open alert adds an event to it instead of opening a
// new one.

func pdInvalid(w http.ResponseWriter, errs ...string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
}

func pdFault(w http.ResponseWriter, f *Fault) {
	if f.Status == http.StatusTooManyRequests {
		writeJSON(w, f.Status, map[string]any{"status": "throttle event", "message": "Requests for this service are arriving too quickly. Please retry later."})
		return
	}
	writeJSON(w, f.Status, map[string]any{"status": "error", "message": http.StatusText(f.Status)})
}

func (l *Lab) pagerdutyRoutes(mux *http.ServeMux) {
	l.handle(mux, PagerDuty, "POST /pagerduty/v2/enqueue", mutateRoute, pdFault, func(w http.ResponseWriter, r *http.Request) {
		if !isJSON(r) {
			pdInvalid(w, "Content-Type must be application/json")
			return
		}
		ev, err := decodeBody(r)
		if err != nil {
			pdInvalid(w, "Event body is not valid JSON")
			return
		}
		key, _ := ev["routing_key"].(string)
		switch {
		case len(key) != 32:
			pdInvalid(w, "Length of 'routing_key' is incorrect (should be 32 characters)")
			return
		case key != pdRoutingKey:
			pdInvalid(w, "Invalid routing key")
			return
		}
		action, _ := ev["event_action"].(string)
		dedup, _ := ev["dedup_key"].(string)
		payload, _ := ev["payload"].(map[string]any)
		var errs []string
		switch action {
		case "trigger":
			if s, _ := payload["summary"].(string); s == "" {
				errs = append(errs, "'payload.summary' is missing or blank")
			}
			if s, _ := payload["source"].(string); s == "" {
				errs = append(errs, "'payload.source' is missing or blank")
			}
			switch payload["severity"] {
			case "critical", "error", "warning", "info":
			default:
				errs = append(errs, "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')")
			}
		case "acknowledge", "resolve":
			if dedup == "" {
				errs = append(errs, "'dedup_key' is required for "+action)
			}
		default:
			errs = append(errs, "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')")
		}
		if len(errs) > 0 {
			pdInvalid(w, errs...)
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if dedup == "" {
			dedup = stableID(fmt.Sprint(time.Now().UnixNano()), 32)
		}
		p := l.pd[dedup]
		changed := false
		switch action {
		case "trigger":
			if p == nil || p.Status == "resolved" {
				summary, _ := payload["summary"].(string)
				source, _ := payload["source"].(string)
				sev, _ := payload["severity"].(string)
				details, _ := payload["custom_details"].(map[string]any)
				if p == nil {
					l.pdOrder = append(l.pdOrder, dedup)
				}
				p = &Page{DedupKey: dedup, Summary: summary, Source: source, Severity: sev, Details: details, Created: time.Now().UTC()}
				l.pd[dedup] = p
				changed = true
			}
			p.Status = "triggered"
			p.Events++
		case "acknowledge", "resolve":
			status := map[string]string{"acknowledge": "acknowledged", "resolve": "resolved"}[action]
			if p != nil && p.Status != status && p.Status != "resolved" {
				p.Status, changed = status, true
				p.Events++
			}
		}
		l.record(r, PagerDuty, action, dedup, changed, http.StatusAccepted, "")
		writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": dedup})
	})
}
