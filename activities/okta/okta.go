// Package okta is the Okta connector: suspend_user (undone by
// unsuspend_user) and clear_user_sessions with an SSWS API token, waiting
// out 429s until X-Rate-Limit-Reset. Its README cites the vendor
// documentation the code and the fake (fake.go) follow.
package okta

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// Okta: suspend / unsuspend a user and clear its sessions. Auth is
// `Authorization: SSWS <token>`. Suspend works only from ACTIVE; the
// current status is read first so a repeat sends nothing.

// Type is the okta connection type: what a connection needs in riposte.yaml.
var Type = connector.ConnectionType{
	Name: "okta", Description: "Okta management API (base_url is the org, e.g. https://example.okta.com).",
	Fields: []connector.ConnectionField{
		{Name: "api_token", Secret: true, Required: true, Description: "Okta API token (SSWS).", Example: "{env: OKTA_API_TOKEN}"},
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
		Needs: "an API token of an admin with the Help Desk Administrator role (or a custom role allowing user lifecycle and sessions)"}
}

func Definitions() []connector.Definition {
	params := []catalog.Param{
		{Name: "user", Type: catalog.TypeString, Required: true, Description: "Okta user id, login (jdoe@example.com) or unambiguous login short name."},
		connector.ConnectionParam("okta"),
	}
	outputs := []catalog.Field{
		{Name: "user_id", Type: catalog.TypeString, Description: "Okta user id."},
		{Name: "login", Type: catalog.TypeString, Description: "Login of the user."},
		{Name: "status", Type: catalog.TypeString, Description: "User status after the call (ACTIVE, SUSPENDED, …)."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the user was already in the wanted state, so nothing was sent."},
		connector.ConnectionOutput(),
	}
	return append(connector.Undoable{Type: Type, Label: "Okta", Params: params, Outputs: outputs,
		Do: connector.Half{Name: "okta.suspend_user", Description: "Suspends an ACTIVE Okta user: no sign-in until unsuspended. An already suspended user is left as is; other statuses fail. Does not end existing sessions (see okta.clear_user_sessions).",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return oktaLifecycle(ctx, c, true)
			}},
		Undo: connector.Half{Name: "okta.unsuspend_user", Description: "Returns a SUSPENDED Okta user to ACTIVE. A user in any other status is left as is.",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return oktaLifecycle(ctx, c, false)
			}},
	}.Definitions(),
		connector.Definition{
			Action: catalog.Action{
				Name: "okta.clear_user_sessions", Vendor: "okta", Risk: catalog.RiskContain, Undo: "core.noop",
				Description: "Ends every Okta session of a user and revokes the OAuth tokens Okta issued to them. Cleared sessions cannot be restored, so the undo is core.noop; the user simply signs in again.",
				Params:      params,
				Outputs: []catalog.Field{
					{Name: "user_id", Type: catalog.TypeString, Description: "Okta user id."},
					{Name: "login", Type: catalog.TypeString, Description: "Login of the user."},
					connector.ConnectionOutput(),
				},
			},
			Run: connector.Run(Type, "Okta", false, oktaClearSessions),
		},
	)
}

type oktaUser struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Profile struct {
		Login string `json:"login"`
	} `json:"profile"`
}

func oktaError(body []byte) string {
	var e struct {
		Code    string `json:"errorCode"`
		Summary string `json:"errorSummary"`
		Causes  []struct {
			Summary string `json:"errorSummary"`
		} `json:"errorCauses"`
	}
	if json.Unmarshal(body, &e) != nil || e.Summary == "" {
		return ""
	}
	msg := e.Code + ": " + e.Summary
	for _, c := range e.Causes {
		msg += "; " + c.Summary
	}
	return msg
}

func oktaSetup(c *connector.Conn) (string, error) {
	user, err := connector.RequireString(c.Call, "user")
	if err != nil {
		return "", err
	}
	if connector.DotSegment(user) {
		// /api/v1/users/. and /users/.. are the user list and /api/v1/
		// once a server or proxy removes the dot segment.
		return "", connector.InvalidParam("%s: user %q is not a user id or login", c.Call.Action, user)
	}
	if strings.EqualFold(user, "me") {
		// /api/v1/users/me is the API token's own user (Okta Users API):
		// the service account, not a user from the detection.
		return "", connector.InvalidParam("%s: user %q names the API token's own account in Okta (/api/v1/users/me); give the user's id or login", c.Call.Action, user)
	}
	return user, c.UseSecretHeader("api_token", "Authorization", "SSWS ")
}

func oktaGetUser(ctx context.Context, c *connector.Conn, user string) (oktaUser, error) {
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/api/v1/users/" + url.PathEscape(user)})
	if err != nil {
		return oktaUser{}, err
	}
	if !resp.OK() {
		return oktaUser{}, c.StatusError(resp, oktaError(resp.Body), "user "+user+" not found")
	}
	var u oktaUser
	if err := c.DecodeJSON(resp, &u); err != nil {
		return oktaUser{}, err
	}
	if strings.TrimSpace(u.ID) == "" {
		// Every Okta user object has an id (Users API): an answer without
		// one is not the user, and acting on "" would call /users//….
		return oktaUser{}, connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered HTTP %d without an id for user %s (%s); check base_url and any proxy", c.Where(), resp.Status, user, connector.Snippet(resp.Body)))
	}
	return u, nil
}

func oktaLifecycle(ctx context.Context, c *connector.Conn, suspend bool) (map[string]any, error) {
	verb, op, from, to := "suspending", "suspend", "ACTIVE", "SUSPENDED"
	if !suspend {
		verb, op, from, to = "unsuspending", "unsuspend", "SUSPENDED", "ACTIVE"
	}
	user, err := oktaSetup(c)
	if err != nil {
		if user == "" {
			return nil, err
		}
		return nil, fmt.Errorf("%s user %s: %w", verb, user, err)
	}
	wrap := func(err error) error { return fmt.Errorf("%s user %s: %w", verb, user, err) }
	u, err := oktaGetUser(ctx, c, user)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"user_id": u.ID, "login": u.Profile.Login, "status": u.Status, "already": false}
	switch {
	case u.Status == to:
		out["already"] = true
		c.LogAction("user already in wanted state; nothing sent", "user", user, "status", u.Status)
		return out, nil
	case u.Status != from && !suspend:
		// Unsuspending only undoes a suspension; any other status is not ours.
		out["already"] = true
		c.LogAction("user is not suspended; nothing sent", "user", user, "status", u.Status)
		return out, nil
	case u.Status != from:
		return nil, wrap(connector.NewFailure(connector.KindRejected, fmt.Sprintf("user is %s in %s; Okta suspends only ACTIVE users (okta.clear_user_sessions still works)", u.Status, c.Where())))
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodPost, Path: "/api/v1/users/" + url.PathEscape(u.ID) + "/lifecycle/" + op})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.OK() {
		if resp.Status == http.StatusBadRequest {
			// Lost a race with another change? Read the status again.
			if again, gerr := oktaGetUser(ctx, c, u.ID); gerr == nil && again.Status == to {
				out["status"], out["already"] = to, true
				return out, nil
			}
		}
		return nil, wrap(c.StatusError(resp, oktaError(resp.Body), "user "+user+" not found"))
	}
	out["status"] = to
	c.LogAction("changed user status", "user", user, "lifecycle", op)
	return out, nil
}

func oktaClearSessions(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	user, err := oktaSetup(c)
	if err != nil {
		if user == "" {
			return nil, err
		}
		return nil, fmt.Errorf("clearing sessions of user %s: %w", user, err)
	}
	wrap := func(err error) error { return fmt.Errorf("clearing sessions of user %s: %w", user, err) }
	u, err := oktaGetUser(ctx, c, user)
	if err != nil {
		return nil, wrap(err)
	}
	// Okta exposes no "sessions cleared at" to check first; a repeat of
	// this call finds no session left and changes nothing.
	resp, err := c.Do(ctx, connector.Request{
		Method: http.MethodDelete, Path: "/api/v1/users/" + url.PathEscape(u.ID) + "/sessions",
		Query: url.Values{"oauthTokens": {"true"}},
	})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.OK() {
		return nil, wrap(c.StatusError(resp, oktaError(resp.Body), "user "+user+" not found"))
	}
	c.LogAction("cleared user sessions", "user", user)
	return map[string]any{"user_id": u.ID, "login": strings.TrimSpace(u.Profile.Login)}, nil
}

// check reads the API token's own user.
func check(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	if err := c.UseSecretHeader("api_token", "Authorization", "SSWS "); err != nil {
		return nil, err
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/api/v1/users/me"})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, c.StatusError(resp, oktaError(resp.Body), "")
	}
	var u oktaUser
	_ = c.DecodeJSON(resp, &u)
	return map[string]any{"detail": "API token ok (token of " + u.Profile.Login + ")"}, nil
}
