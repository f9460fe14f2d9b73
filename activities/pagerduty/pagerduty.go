// Package pagerduty is the PagerDuty connector: trigger sends an Events API
// v2 event whose dedup_key is derived from the run and step, so a retried
// step adds to the same alert. Its README cites the vendor documentation
// the code and the fake (fake.go) follow.
package pagerduty

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// PagerDuty Events API v2: trigger an alert. The routing key travels in
// the body. The dedup_key defaults to a hash of the step's idempotency key,
// so a retried step adds to the same alert instead of opening another.

// Type is the pagerduty connection type: what a connection needs in riposte.yaml.
var Type = connector.ConnectionType{
	Name: "pagerduty", Description: "PagerDuty Events API v2.", DefaultBaseURL: "https://events.pagerduty.com",
	Fields: []connector.ConnectionField{
		{Name: "routing_key", Secret: true, Required: true, Description: "Integration (routing) key of an Events API v2 integration.", Example: "{env: PD_ROUTING_KEY}"},
	},
}

// docs is the connector's docs fragment (docs/actions.md is generated
// from it).
//
//go:embed README.md
var docs string

// Connector is this vendor's line in the registry (activities/connections.go).
func Connector() connector.Vendor {
	return connector.Vendor{Docs: docs, Type: Type, Definitions: Definitions}
}

func Definitions() []connector.Definition {
	return []connector.Definition{{
		Action: catalog.Action{
			Name: "pagerduty.trigger", Vendor: "pagerduty", Risk: catalog.RiskNotify,
			Description: "Triggers a PagerDuty alert through Events API v2. Retries of the same step reuse its dedup_key, so they never open a second incident.",
			Params: []catalog.Param{
				{Name: "summary", Type: catalog.TypeString, Required: true, Description: "Alert summary (at most 1024 characters)."},
				{Name: "source", Type: catalog.TypeString, Description: "Affected system, e.g. a host name (default riposte)."},
				{Name: "severity", Type: catalog.TypeString, Description: "critical, error (default), warning or info.", Enum: []string{"critical", "error", "warning", "info"}},
				{Name: "dedup_key", Type: catalog.TypeString, Description: "Deduplication key; default: derived from the step's idempotency key."},
				{Name: "details", Type: catalog.TypeObject, Description: "Free-form custom details shown on the alert."},
				connector.ConnectionParam("pagerduty"),
			},
			Outputs: []catalog.Field{
				{Name: "dedup_key", Type: catalog.TypeString, Description: "Deduplication key of the alert."},
				{Name: "status", Type: catalog.TypeString, Description: "PagerDuty status (success)."},
				{Name: "message", Type: catalog.TypeString, Description: "PagerDuty message (Event processed)."},
				connector.ConnectionOutput(),
			},
		},
		Run: connector.Run(Type, "PagerDuty", false, pagerdutyTrigger),
	}}
}

func pagerdutyTrigger(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	summary, err := connector.RequireString(c.Call, "summary")
	if err != nil {
		return nil, err
	}
	// Detection text often fills it: no control, bidi or invisible
	// characters reach the alert (connector.ShownText).
	summary = connector.ShownText(summary)
	if strings.TrimSpace(summary) == "" {
		// PagerDuty answers an empty summary with 400 and pages nobody:
		// text made only of invisible characters must not silence the alert.
		summary = "Riposte alert (its summary held only control or invisible characters)"
	}
	if r := []rune(summary); len(r) > 1024 {
		summary = string(r[:1023]) + "…"
	}
	source, err := connector.OptString(c.Call, "source", "riposte")
	if err != nil {
		return nil, err
	}
	if source = connector.ShownText(source); strings.TrimSpace(source) == "" {
		source = "riposte" // the default: PagerDuty refuses an empty source (400)
	}
	severity, err := connector.OptString(c.Call, "severity", "error")
	if err != nil {
		return nil, err
	}
	switch severity {
	case "critical", "error", "warning", "info":
	default:
		return nil, connector.InvalidParam("pagerduty.trigger: severity %q is not one of critical, error, warning, info", severity)
	}
	dedup, err := connector.OptString(c.Call, "dedup_key", "")
	if err != nil {
		return nil, err
	}
	if dedup == "" {
		if key := connector.IdemKey(c.Call); key != "" {
			dedup = "riposte-" + connector.ShortHash(key, 32)
		}
	}
	if len(dedup) > 255 {
		return nil, connector.InvalidParam("pagerduty.trigger: dedup_key is longer than 255 characters")
	}
	details, err := connector.OptObject(c.Call, "details")
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("triggering PagerDuty alert: %w", err) }
	key, err := c.Secret("routing_key")
	if err != nil {
		return nil, wrap(err)
	}
	payload := map[string]any{"summary": summary, "source": source, "severity": severity}
	if details != nil {
		payload["custom_details"] = details
	}
	event := map[string]any{"routing_key": key, "event_action": "trigger", "payload": payload, "client": "Riposte"}
	if dedup != "" {
		event["dedup_key"] = dedup
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodPost, Path: "/v2/enqueue", JSON: event})
	if err != nil {
		return nil, wrap(err)
	}
	var res struct {
		Status   string   `json:"status"`
		Message  string   `json:"message"`
		DedupKey string   `json:"dedup_key"`
		Errors   []string `json:"errors"`
	}
	_ = json.Unmarshal(resp.Body, &res)
	if !resp.OK() {
		msg := strings.TrimSpace(res.Message + " " + strings.Join(res.Errors, "; "))
		if resp.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(msg), "routing") {
			return nil, wrap(connector.NewFailure(connector.KindAuth, fmt.Sprintf("PagerDuty refused the routing key (HTTP 400: %s); check the credentials of connection %q", msg, c.Name)))
		}
		return nil, wrap(c.StatusError(resp, msg, ""))
	}
	// PagerDuty answers an accepted event 202 {"status":"success",…}
	// (Events API v2, "Send an Alert Event"). Any other 2xx comes from
	// something else (a gateway, a base_url that is not events.pagerduty.com)
	// and triggered nothing anyone will be paged for.
	if res.Status != "success" {
		return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
			"%s answered HTTP %d without PagerDuty's \"status\": \"success\" (%s); no alert is known to be triggered: check base_url (https://events.pagerduty.com)",
			// The routing key goes before clipping: an answer echoing the
			// event could otherwise show part of it.
			c.Where(), resp.Status, connector.Snippet([]byte(connector.Redact(string(resp.Body), []string{key}))))))
	}
	if res.DedupKey == "" {
		res.DedupKey = dedup
	}
	c.LogAction("triggered alert", "dedup_key", res.DedupKey)
	return map[string]any{"dedup_key": res.DedupKey, "status": res.Status, "message": res.Message}, nil
}
