package pagerduty

import (
	"fmt"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
	"net/http"
	"time"
)

// PagerDuty Events API v2 fake: POST /v2/enqueue answers 202; invalid
// events get 400 {"status":"invalid event","errors":[…]}. A trigger with
// the dedup_key of an open alert adds an event to it instead of opening a
// new one.

func pdInvalid(w http.ResponseWriter, errs ...string) {
	labkit.WriteJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
}

func pdFault(w http.ResponseWriter, f *labkit.Fault) {
	if f.Status == http.StatusTooManyRequests {
		labkit.WriteJSON(w, f.Status, map[string]any{"status": "throttle event", "message": "Requests for this service are arriving too quickly. Please retry later."})
		return
	}
	labkit.WriteJSON(w, f.Status, map[string]any{"status": "error", "message": http.StatusText(f.Status)})
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	fk.Handle(mux, vendorName, "POST /pagerduty/v2/enqueue", labkit.MutateRoute, pdFault, func(w http.ResponseWriter, r *http.Request) {
		if !labkit.IsJSON(r) {
			pdInvalid(w, "Content-Type must be application/json")
			return
		}
		ev, err := labkit.DecodeBody(r)
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
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		if dedup == "" {
			dedup = labkit.StableID(fmt.Sprint(time.Now().UnixNano()), 32)
		}
		p := fk.pd[dedup]
		changed := false
		switch action {
		case "trigger":
			if p == nil || p.Status == "resolved" {
				summary, _ := payload["summary"].(string)
				source, _ := payload["source"].(string)
				sev, _ := payload["severity"].(string)
				details, _ := payload["custom_details"].(map[string]any)
				if p == nil {
					fk.pdOrder = append(fk.pdOrder, dedup)
				}
				p = &labkit.Page{DedupKey: dedup, Summary: summary, Source: source, Severity: sev, Details: details, Created: time.Now().UTC()}
				fk.pd[dedup] = p
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
		fk.Record(r, vendorName, action, dedup, changed, http.StatusAccepted, "")
		labkit.WriteJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": dedup})
	})
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "pagerduty"

// Lab credentials. They are public test constants, not secrets.
const (
	pdRoutingKey = "labroutingkey0000000000000000000" // 32 characters, like the real ones
)

// Fake is the lab's PagerDuty Events API v2 fake (see the comment at the top of this file).
type Fake struct {
	labkit.Base
	pd      map[string]*labkit.Page
	pdOrder []string
}

// NewFake returns the fake, serving on the lab of k.
func NewFake(k *labkit.Kit) *Fake {
	fk := &Fake{Base: labkit.NewBase(k, vendorName)}
	fk.pd = map[string]*labkit.Page{}
	return fk
}

// Connections implements labkit.Fake.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{
		vendorName: {Type: vendorName, BaseURL: fk.URL + "/pagerduty",
			Secrets: map[string]connector.SecretRef{"routing_key": labkit.Lit(pdRoutingKey)}},
	}
}

// Snapshot implements labkit.Fake: the alerts, in order.
func (fk *Fake) Snapshot(st *labkit.State) {
	for _, k := range fk.pdOrder {
		st.Pages = append(st.Pages, *fk.pd[k])
	}
}
