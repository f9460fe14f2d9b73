package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// PagerDuty Events API v2: trigger an alert. The routing key travels in
// the body. The dedup_key defaults to a hash of the step's idempotency key,
// so a retried step adds to the same alert instead of opening another.

func pagerdutyDefinitions() []Definition {
	return []Definition{{
		Action: catalog.Action{
			Name: "pagerduty.trigger", Vendor: "pagerduty", Risk: catalog.RiskNotify,
			Description: "Triggers a PagerDuty alert through Events API v2. Retries of the same step reuse its dedup_key, so they never open a second incident.",
			Params: []catalog.Param{
				{Name: "summary", Type: catalog.TypeString, Required: true, Description: "Alert summary (at most 1024 characters)."},
				{Name: "source", Type: catalog.TypeString, Description: "Affected system, e.g. a host name (default riposte)."},
				{Name: "severity", Type: catalog.TypeString, Description: "critical, error (default), warning or info.", Enum: []string{"critical", "error", "warning", "info"}},
				{Name: "dedup_key", Type: catalog.TypeString, Description: "Deduplication key; default: derived from the step's idempotency key."},
				{Name: "details", Type: catalog.TypeObject, Description: "Free-form custom details shown on the alert."},
				connectionParam("pagerduty"),
			},
			Outputs: []catalog.Field{
				{Name: "dedup_key", Type: catalog.TypeString, Description: "Deduplication key of the alert."},
				{Name: "status", Type: catalog.TypeString, Description: "PagerDuty status (success)."},
				{Name: "message", Type: catalog.TypeString, Description: "PagerDuty message (Event processed)."},
				{Name: "connection", Type: catalog.TypeString, Description: "Connection used."},
			},
		},
		Run: vendorRun("pagerduty", "PagerDuty", false, pagerdutyTrigger),
	}}
}

func pagerdutyTrigger(ctx context.Context, c *conn) (map[string]any, error) {
	summary, err := requireString(c.call, "summary")
	if err != nil {
		return nil, err
	}
	if r := []rune(summary); len(r) > 1024 {
		summary = string(r[:1023]) + "…"
	}
	source, err := optString(c.call, "source", "riposte")
	if err != nil {
		return nil, err
	}
	severity, err := optString(c.call, "severity", "error")
	if err != nil {
		return nil, err
	}
	switch severity {
	case "critical", "error", "warning", "info":
	default:
		return nil, invalidParam("pagerduty.trigger: severity %q is not one of critical, error, warning, info", severity)
	}
	dedup, err := optString(c.call, "dedup_key", "")
	if err != nil {
		return nil, err
	}
	if dedup == "" {
		if key := idemKey(c.call); key != "" {
			dedup = "riposte-" + shortHash(key, 32)
		}
	}
	if len(dedup) > 255 {
		return nil, invalidParam("pagerduty.trigger: dedup_key is longer than 255 characters")
	}
	details, err := optObject(c.call, "details")
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("triggering PagerDuty alert: %w", err) }
	key, err := c.secret("routing_key")
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
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/v2/enqueue", json: event})
	if err != nil {
		return nil, wrap(err)
	}
	var res struct {
		Status   string   `json:"status"`
		Message  string   `json:"message"`
		DedupKey string   `json:"dedup_key"`
		Errors   []string `json:"errors"`
	}
	_ = json.Unmarshal(resp.body, &res)
	if !resp.ok() {
		msg := strings.TrimSpace(res.Message + " " + strings.Join(res.Errors, "; "))
		if resp.status == http.StatusBadRequest && strings.Contains(strings.ToLower(msg), "routing") {
			return nil, wrap(newFailure(kindAuth, fmt.Sprintf("PagerDuty refused the routing key (HTTP 400: %s); check the credentials of connection %q", msg, c.name)))
		}
		return nil, wrap(c.statusError(resp, msg, ""))
	}
	if res.DedupKey == "" {
		res.DedupKey = dedup
	}
	c.logAction("triggered alert", "dedup_key", res.DedupKey)
	return map[string]any{"dedup_key": res.DedupKey, "status": res.Status, "message": res.Message}, nil
}
