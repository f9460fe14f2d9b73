package activities

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// CrowdStrike Falcon: network containment of a host, found by hostname.
// Auth is OAuth2 client credentials (POST /oauth2/token answers 201); the
// bearer is cached until it expires and refreshed once on a 401.

func crowdstrikeDefinitions() []Definition {
	params := []catalog.Param{
		{Name: "hostname", Type: catalog.TypeString, Required: true, Description: "Host name as Falcon reports it (exact match)."},
		connectionParam("crowdstrike"),
	}
	outputs := []catalog.Field{
		{Name: "device_id", Type: catalog.TypeString, Description: "Falcon device id (AID) acted on."},
		{Name: "hostname", Type: catalog.TypeString, Description: "Host name as Falcon reports it."},
		{Name: "status", Type: catalog.TypeString, Description: "Containment status after the call: containment_pending, contained, lift_containment_pending or normal."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the host was already in the wanted state, so nothing was sent."},
		{Name: "matches", Type: catalog.TypeInt, Description: "Devices with this host name; the most recently seen one is acted on."},
		{Name: "connection", Type: catalog.TypeString, Description: "Connection used."},
	}
	return []Definition{
		{
			Action: catalog.Action{
				Name: "crowdstrike.contain_host", Vendor: "crowdstrike", Risk: catalog.RiskContain, Undo: "crowdstrike.lift_containment",
				Description: "Network-contains a host with CrowdStrike Falcon: it keeps talking to the Falcon cloud only. A host already contained or pending containment is left as is.",
				Params:      params, Outputs: outputs,
			},
			Run: vendorRun("crowdstrike", "CrowdStrike", false, func(ctx context.Context, c *conn) (map[string]any, error) {
				return csContain(ctx, c, "contain")
			}),
		},
		{
			Action: catalog.Action{
				Name: "crowdstrike.lift_containment", Vendor: "crowdstrike", Risk: catalog.RiskContain, Undo: "crowdstrike.contain_host",
				Description: "Lifts CrowdStrike Falcon network containment from a host. A host that is not contained is left as is.",
				Params:      params, Outputs: outputs,
			},
			Run: vendorRun("crowdstrike", "CrowdStrike", false, func(ctx context.Context, c *conn) (map[string]any, error) {
				return csContain(ctx, c, "lift_containment")
			}),
		},
	}
}

type csDevice struct {
	DeviceID string `json:"device_id"`
	Hostname string `json:"hostname"`
	Status   string `json:"status"`
	LastSeen string `json:"last_seen"`
}

type csEnvelope struct {
	Resources []any `json:"resources"`
	Errors    []struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		ID      string `json:"id"`
	} `json:"errors"`
}

func (e csEnvelope) message() string {
	var msgs []string
	for _, er := range e.Errors {
		msgs = append(msgs, er.Message)
	}
	return strings.Join(msgs, "; ")
}

func csAuth(c *conn) error {
	id, err := c.requireOption("client_id")
	if err != nil {
		return err
	}
	secret, err := c.secret("client_secret")
	if err != nil {
		return err
	}
	c.useClientCredentials(c.endpoint("/oauth2/token", nil), url.Values{"client_id": {id}, "client_secret": {secret}})
	return nil
}

func csContain(ctx context.Context, c *conn, action string) (map[string]any, error) {
	host, err := requireHostname(c.call)
	if err != nil {
		return nil, err
	}
	verb := "containing"
	if action == "lift_containment" {
		verb = "lifting containment of"
	}
	wrap := func(err error) error { return fmt.Errorf("%s host %s: %w", verb, host, err) }
	if err := csAuth(c); err != nil {
		return nil, wrap(err)
	}
	dev, matches, err := csFindHost(ctx, c, host)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"device_id": dev.DeviceID, "hostname": dev.Hostname, "status": dev.Status, "matches": matches, "already": false}
	// Check the current state first: a retried or replayed step must not
	// send a second containment.
	done := map[string][]string{
		"contain":          {"contained", "containment_pending"},
		"lift_containment": {"normal", "lift_containment_pending"},
	}[action]
	for _, s := range done {
		if dev.Status == s {
			out["already"] = true
			c.logAction("host already in wanted state; nothing sent", "hostname", host, "device_id", dev.DeviceID, "status", dev.Status)
			return out, nil
		}
	}
	resp, err := c.do(ctx, request{
		method: http.MethodPost, path: "/devices/entities/devices-actions/v2",
		query: url.Values{"action_name": {action}},
		json:  map[string]any{"ids": []string{dev.DeviceID}},
	})
	if err != nil {
		return nil, wrap(err)
	}
	var env csEnvelope
	_ = c.decodeJSON(resp, &env)
	if !resp.ok() {
		return nil, wrap(c.statusError(resp, env.message(), fmt.Sprintf("device %s (%s) not found", dev.DeviceID, host)))
	}
	if len(env.Errors) > 0 && !csHasResource(env, dev.DeviceID) {
		return nil, wrap(newFailure(kindVendorError, fmt.Sprintf("%s reported: %s", c.where(), env.message())))
	}
	if action == "contain" {
		out["status"] = "containment_pending"
	} else {
		out["status"] = "lift_containment_pending"
	}
	c.logAction("sent containment action", "hostname", host, "device_id", dev.DeviceID, "action_name", action)
	return out, nil
}

func csHasResource(env csEnvelope, id string) bool {
	for _, r := range env.Resources {
		if m, ok := r.(map[string]any); ok && m["id"] == id {
			return true
		}
	}
	return false
}

// csFindHost resolves a host name to the most recently seen device.
func csFindHost(ctx context.Context, c *conn, host string) (csDevice, int, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodGet, path: "/devices/queries/devices/v1",
		query: url.Values{"filter": {fmt.Sprintf("hostname:'%s'", host)}},
	})
	if err != nil {
		return csDevice{}, 0, err
	}
	var q struct {
		csEnvelope
		Resources []string `json:"resources"`
	}
	if !resp.ok() {
		_ = c.decodeJSON(resp, &q)
		return csDevice{}, 0, c.statusError(resp, q.message(), "host "+host+" not found")
	}
	if err := c.decodeJSON(resp, &q); err != nil {
		return csDevice{}, 0, err
	}
	if len(q.Resources) == 0 {
		return csDevice{}, 0, newFailure(kindNotFound, fmt.Sprintf("host %s not found in %s", host, c.where()))
	}
	ids := q.Resources
	if len(ids) > 100 {
		ids = ids[:100]
	}
	resp, err = c.do(ctx, request{method: http.MethodGet, path: "/devices/entities/devices/v2", query: url.Values{"ids": ids}})
	if err != nil {
		return csDevice{}, 0, err
	}
	var d struct {
		csEnvelope
		Resources []csDevice `json:"resources"`
	}
	if !resp.ok() {
		_ = c.decodeJSON(resp, &d)
		return csDevice{}, 0, c.statusError(resp, d.message(), "host "+host+" not found")
	}
	if err := c.decodeJSON(resp, &d); err != nil {
		return csDevice{}, 0, err
	}
	var best *csDevice
	n := 0
	for i := range d.Resources {
		dev := &d.Resources[i]
		if !strings.EqualFold(dev.Hostname, host) {
			continue
		}
		n++
		if best == nil || dev.LastSeen > best.LastSeen { // RFC 3339 UTC sorts as text
			best = dev
		}
	}
	if best == nil {
		return csDevice{}, 0, newFailure(kindNotFound, fmt.Sprintf("host %s not found in %s", host, c.where()))
	}
	return *best, n, nil
}
