// Package sentinelone is the SentinelOne connector: network disconnection
// of an agent's host (disconnect_agent, undone by reconnect_agent) with an
// API token, acting on the most recently active agent of that name;
// "affected: 0" inside a 200 is a failure. Its README cites the vendor
// documentation the code and the fake (fake.go) follow.
package sentinelone

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// SentinelOne: disconnect an agent from the network, found by computer
// name. Auth is `Authorization: ApiToken <token>`. An action answers 200
// with data.affected; 0 affected agents is a failure inside a 200.

// Type is the sentinelone connection type: what a connection needs in riposte.yaml.
var Type = connector.ConnectionType{
	Name: "sentinelone", Description: "SentinelOne management console API v2.1 (base_url is the console, e.g. https://usea1.sentinelone.net).",
	Fields: []connector.ConnectionField{
		{Name: "api_token", Secret: true, Required: true, Description: "API token of a service user.", Example: "{env: S1_API_TOKEN}"},
	},
}

// docs is the connector's docs fragment (docs/actions.md is generated
// from it).
//
//go:embed README.md
var docs string

// Connector is this vendor's line in the registry (activities/connections.go).
func Connector() connector.Vendor {
	return connector.Vendor{Docs: docs, Type: Type, Definitions: Definitions, Check: check,
		Needs: "a service user with Endpoints: view and Disconnect From Network / Reconnect To Network"}
}

func Definitions() []connector.Definition {
	params := []catalog.Param{
		{Name: "hostname", Type: catalog.TypeString, Required: true, Description: "Computer name of the agent (exact match)."},
		connector.ConnectionParam("sentinelone"),
	}
	outputs := []catalog.Field{
		{Name: "agent_id", Type: catalog.TypeString, Description: "SentinelOne agent id acted on."},
		{Name: "hostname", Type: catalog.TypeString, Description: "Computer name as SentinelOne reports it."},
		{Name: "network_status", Type: catalog.TypeString, Description: "Network status before the call: connected, connecting, disconnected, disconnecting."},
		{Name: "affected", Type: catalog.TypeInt, Description: "Agents the action applied to (0 when already)."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the agent was already in the wanted state, so nothing was sent."},
		connector.ConnectionOutput(),
	}
	return connector.Undoable{Type: Type, Label: "SentinelOne", Params: params, Outputs: outputs,
		Do: connector.Half{Name: "sentinelone.disconnect_agent", Description: "Disconnects a SentinelOne agent's host from the network (it keeps talking to the management console). An agent already disconnected is left as is.",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return s1Act(ctx, c, "disconnect")
			}},
		Undo: connector.Half{Name: "sentinelone.reconnect_agent", Description: "Reconnects a SentinelOne agent's host to the network. An agent already connected is left as is.",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) { return s1Act(ctx, c, "connect") }},
	}.Definitions()
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

func s1Act(ctx context.Context, c *connector.Conn, action string) (map[string]any, error) {
	host, err := connector.RequireHostname(c.Call)
	if err != nil {
		return nil, err
	}
	verb := "disconnecting"
	if action == "connect" {
		verb = "reconnecting"
	}
	wrap := func(err error) error { return fmt.Errorf("%s agent %s: %w", verb, host, err) }
	if err := c.UseSecretHeader("api_token", "Authorization", "ApiToken "); err != nil {
		return nil, wrap(err)
	}
	agent, err := s1FindAgent(ctx, c, host)
	if err != nil {
		return nil, wrap(err)
	}
	if agent == nil {
		return nil, wrap(connector.NewFailure(connector.KindNotFound, fmt.Sprintf("host %s not found in %s", host, c.Where())))
	}
	out := map[string]any{"agent_id": agent.ID, "hostname": agent.ComputerName, "network_status": agent.NetworkStatus, "affected": 0, "already": false}
	done := map[string][]string{"disconnect": {"disconnected", "disconnecting"}, "connect": {"connected", "connecting"}}[action]
	for _, s := range done {
		if agent.NetworkStatus == s {
			out["already"] = true
			c.LogAction("agent already in wanted state; nothing sent", "hostname", host, "agent_id", agent.ID)
			return out, nil
		}
	}
	// Always filter by ids: an empty filter would act on every agent.
	resp, err := c.Do(ctx, connector.Request{
		Method: http.MethodPost, Path: "/web/api/v2.1/agents/actions/" + action,
		JSON: map[string]any{"filter": map[string]any{"ids": []string{agent.ID}}},
	})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.OK() {
		return nil, wrap(c.StatusError(resp, s1Error(resp.Body), "agent "+agent.ID+" not found"))
	}
	var res struct {
		Data struct {
			Affected *int `json:"affected"`
		} `json:"data"`
	}
	if err := c.DecodeJSON(resp, &res); err != nil {
		return nil, wrap(err)
	}
	if res.Data.Affected == nil || *res.Data.Affected == 0 {
		return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered 200 but affected 0 agents (agent %s): it may have been removed, or is outside the API token's scope", c.Where(), agent.ID)))
	}
	out["affected"] = *res.Data.Affected
	c.LogAction("sent agent action", "hostname", host, "agent_id", agent.ID, "action", action)
	return out, nil
}

// s1PageSize is the limit asked per page. The API's default is 10 and its
// maximum 1000 (v2.1 "Get Agents"); without a limit, an 11th agent record of
// the same name (VDI clones, reimaged hosts) is never seen.
const s1PageSize = 200

// s1MaxPages bounds the walk through pagination.nextCursor.
const s1MaxPages = 50

// s1FindAgent reads every agent record named host, following
// pagination.nextCursor, and returns the one active most recently: the
// others are stale records of the same computer name.
func s1FindAgent(ctx context.Context, c *connector.Conn, host string) (*s1Agent, error) {
	var agent *s1Agent
	cursor := ""
	for page := 0; ; page++ {
		if page == s1MaxPages {
			return nil, connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s lists more than %d agents named %s; refusing to guess which is live", c.Where(), s1MaxPages*s1PageSize, host))
		}
		q := url.Values{"computerName": {host}, "limit": {strconv.Itoa(s1PageSize)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/web/api/v2.1/agents", Query: q})
		if err != nil {
			return nil, err
		}
		if !resp.OK() {
			return nil, c.StatusError(resp, s1Error(resp.Body), "host "+host+" not found")
		}
		var list struct {
			Data       []s1Agent `json:"data"`
			Pagination struct {
				NextCursor *string `json:"nextCursor"`
			} `json:"pagination"`
		}
		if err := c.DecodeJSON(resp, &list); err != nil {
			return nil, err
		}
		for i := range list.Data {
			a := list.Data[i]
			if !strings.EqualFold(a.ComputerName, host) {
				continue
			}
			if strings.TrimSpace(a.ID) == "" {
				// Every agent of "Get Agents" has its id, and actions are
				// filtered by it: a record without one is not an agent to
				// act on (a proxy's JSON, a base_url that is not the console).
				return nil, connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered HTTP %d with agent %s without an id (%s); check base_url and any proxy", c.Where(), resp.Status, a.ComputerName, connector.Snippet(resp.Body)))
			}
			if agent == nil || s1Newer(a.LastActiveDate, agent.LastActiveDate) {
				agent = &a
			}
		}
		if list.Pagination.NextCursor == nil || *list.Pagination.NextCursor == "" || *list.Pagination.NextCursor == cursor {
			return agent, nil
		}
		cursor = *list.Pagination.NextCursor
	}
}

// s1Newer compares two lastActiveDate values as times (RFC 3339, with or
// without fractional seconds), falling back to text order.
func s1Newer(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	if errA == nil && errB == nil {
		return ta.After(tb)
	}
	return a > b
}

// check lists one agent.
func check(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	if err := c.UseSecretHeader("api_token", "Authorization", "ApiToken "); err != nil {
		return nil, err
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/web/api/v2.1/agents", Query: url.Values{"limit": {"1"}}})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, c.StatusError(resp, s1Error(resp.Body), "")
	}
	return map[string]any{"detail": "API token ok; agents readable"}, nil
}
