package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// SentinelOne: disconnect an agent from the network, found by computer
// name. Auth is `Authorization: ApiToken <token>`. An action answers 200
// with data.affected; 0 affected agents is a failure inside a 200.

func sentineloneDefinitions() []Definition {
	params := []catalog.Param{
		{Name: "hostname", Type: catalog.TypeString, Required: true, Description: "Computer name of the agent (exact match)."},
		connectionParam("sentinelone"),
	}
	outputs := []catalog.Field{
		{Name: "agent_id", Type: catalog.TypeString, Description: "SentinelOne agent id acted on."},
		{Name: "hostname", Type: catalog.TypeString, Description: "Computer name as SentinelOne reports it."},
		{Name: "network_status", Type: catalog.TypeString, Description: "Network status before the call: connected, connecting, disconnected, disconnecting."},
		{Name: "affected", Type: catalog.TypeInt, Description: "Agents the action applied to (0 when already)."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the agent was already in the wanted state, so nothing was sent."},
		{Name: "connection", Type: catalog.TypeString, Description: "Connection used."},
	}
	return []Definition{
		{
			Action: catalog.Action{
				Name: "sentinelone.disconnect_agent", Vendor: "sentinelone", Risk: catalog.RiskContain, Undo: "sentinelone.reconnect_agent",
				Description: "Disconnects a SentinelOne agent's host from the network (it keeps talking to the management console). An agent already disconnected is left as is.",
				Params:      params, Outputs: outputs,
			},
			Run: vendorRun("sentinelone", "SentinelOne", false, func(ctx context.Context, c *conn) (map[string]any, error) {
				return s1Act(ctx, c, "disconnect")
			}),
		},
		{
			Action: catalog.Action{
				Name: "sentinelone.reconnect_agent", Vendor: "sentinelone", Risk: catalog.RiskContain, Undo: "sentinelone.disconnect_agent",
				Description: "Reconnects a SentinelOne agent's host to the network. An agent already connected is left as is.",
				Params:      params, Outputs: outputs,
			},
			Run: vendorRun("sentinelone", "SentinelOne", false, func(ctx context.Context, c *conn) (map[string]any, error) {
				return s1Act(ctx, c, "connect")
			}),
		},
	}
}

type s1Agent struct {
	ID             string `json:"id"`
	ComputerName   string `json:"computerName"`
	NetworkStatus  string `json:"networkStatus"`
	LastActiveDate string `json:"lastActiveDate"`
}

func s1Error(body []byte) string {
	var e struct {
		Errors []struct {
			Code   int    `json:"code"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(body, &e)
	var msgs []string
	for _, er := range e.Errors {
		m := er.Title
		if er.Detail != "" && er.Detail != er.Title {
			m = strings.TrimSpace(m + " " + er.Detail)
		}
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, "; ")
}

func s1Act(ctx context.Context, c *conn, action string) (map[string]any, error) {
	host, err := requireHostname(c.call)
	if err != nil {
		return nil, err
	}
	verb := "disconnecting"
	if action == "connect" {
		verb = "reconnecting"
	}
	wrap := func(err error) error { return fmt.Errorf("%s agent %s: %w", verb, host, err) }
	token, err := c.secret("api_token")
	if err != nil {
		return nil, wrap(err)
	}
	c.auth = func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "ApiToken "+token)
		return nil
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/web/api/v2.1/agents", query: url.Values{"computerName": {host}}})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.ok() {
		return nil, wrap(c.statusError(resp, s1Error(resp.body), "host "+host+" not found"))
	}
	var list struct {
		Data []s1Agent `json:"data"`
	}
	if err := c.decodeJSON(resp, &list); err != nil {
		return nil, wrap(err)
	}
	var agent *s1Agent
	for i := range list.Data {
		a := &list.Data[i]
		if strings.EqualFold(a.ComputerName, host) && (agent == nil || a.LastActiveDate > agent.LastActiveDate) {
			agent = a
		}
	}
	if agent == nil {
		return nil, wrap(newFailure(kindNotFound, fmt.Sprintf("host %s not found in %s", host, c.where())))
	}
	out := map[string]any{"agent_id": agent.ID, "hostname": agent.ComputerName, "network_status": agent.NetworkStatus, "affected": 0, "already": false}
	done := map[string][]string{"disconnect": {"disconnected", "disconnecting"}, "connect": {"connected", "connecting"}}[action]
	for _, s := range done {
		if agent.NetworkStatus == s {
			out["already"] = true
			c.logAction("agent already in wanted state; nothing sent", "hostname", host, "agent_id", agent.ID)
			return out, nil
		}
	}
	// Always filter by ids: an empty filter would act on every agent.
	resp, err = c.do(ctx, request{
		method: http.MethodPost, path: "/web/api/v2.1/agents/actions/" + action,
		json: map[string]any{"filter": map[string]any{"ids": []string{agent.ID}}},
	})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.ok() {
		return nil, wrap(c.statusError(resp, s1Error(resp.body), "agent "+agent.ID+" not found"))
	}
	var res struct {
		Data struct {
			Affected *int `json:"affected"`
		} `json:"data"`
	}
	if err := c.decodeJSON(resp, &res); err != nil {
		return nil, wrap(err)
	}
	if res.Data.Affected == nil || *res.Data.Affected == 0 {
		return nil, wrap(newFailure(kindVendorError, fmt.Sprintf("%s answered 200 but affected 0 agents (agent %s): it may have been removed, or is outside the API token's scope", c.where(), agent.ID)))
	}
	out["affected"] = *res.Data.Affected
	c.logAction("sent agent action", "hostname", host, "agent_id", agent.ID, "action", action)
	return out, nil
}
