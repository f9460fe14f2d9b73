package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// Entra ID through Microsoft Graph: disable/enable a user account and
// revoke its sign-in sessions. Auth is the client-credentials grant of an
// app registration (token URL configurable, so the lab can serve it).

func entraDefinitions() []Definition {
	userParams := []catalog.Param{
		{Name: "user", Type: catalog.TypeString, Required: true, Description: "User principal name (jdoe@example.com) or object id."},
		connectionParam("entra"),
	}
	userOutputs := []catalog.Field{
		{Name: "user_id", Type: catalog.TypeString, Description: "Object id of the user."},
		{Name: "user_principal_name", Type: catalog.TypeString, Description: "User principal name."},
		{Name: "account_enabled", Type: catalog.TypeBool, Description: "Whether the account is enabled after the call."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the account was already in the wanted state, so nothing was sent."},
		{Name: "connection", Type: catalog.TypeString, Description: "Connection used."},
	}
	return []Definition{
		{
			Action: catalog.Action{
				Name: "entra.disable_user", Vendor: "entra", Risk: catalog.RiskContain, Undo: "entra.enable_user",
				Description: "Disables an Entra ID user account (accountEnabled=false): no new sign-ins. Existing sessions live until they expire; pair with entra.revoke_sessions.",
				Params:      userParams, Outputs: userOutputs,
			},
			Run: vendorRun("entra", "Entra ID", false, func(ctx context.Context, c *conn) (map[string]any, error) {
				return entraSetEnabled(ctx, c, false)
			}),
		},
		{
			Action: catalog.Action{
				Name: "entra.enable_user", Vendor: "entra", Risk: catalog.RiskContain, Undo: "entra.disable_user",
				Description: "Enables an Entra ID user account (accountEnabled=true). An enabled account is left as is.",
				Params:      userParams, Outputs: userOutputs,
			},
			Run: vendorRun("entra", "Entra ID", false, func(ctx context.Context, c *conn) (map[string]any, error) {
				return entraSetEnabled(ctx, c, true)
			}),
		},
		{
			Action: catalog.Action{
				Name: "entra.revoke_sessions", Vendor: "entra", Risk: catalog.RiskContain, Undo: "core.noop",
				Description: "Revokes every refresh token and session cookie of an Entra ID user (revokeSignInSessions), forcing a new sign-in. Revoked sessions cannot be restored, so the undo is core.noop.",
				Params:      userParams,
				Outputs: []catalog.Field{
					{Name: "user_id", Type: catalog.TypeString, Description: "Object id of the user."},
					{Name: "user_principal_name", Type: catalog.TypeString, Description: "User principal name."},
					{Name: "already", Type: catalog.TypeBool, Description: "True when sessions were already revoked since this step was scheduled (a retry), so nothing was sent."},
					{Name: "connection", Type: catalog.TypeString, Description: "Connection used."},
				},
			},
			Run: vendorRun("entra", "Entra ID", false, entraRevoke),
		},
	}
}

// useEntraApp sets up the client-credentials grant shared by Graph and
// Defender for Endpoint.
func (c *conn) useEntraApp() error {
	tokenURL := c.option("token_url")
	if tokenURL == "" {
		tenant, err := c.requireOption("tenant_id")
		if err != nil {
			return err
		}
		tokenURL = "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
	}
	id, err := c.requireOption("client_id")
	if err != nil {
		return err
	}
	secret, err := c.secret("client_secret")
	if err != nil {
		return err
	}
	c.useClientCredentials(tokenURL, url.Values{"client_id": {id}, "client_secret": {secret}, "scope": {c.option("scope")}})
	return nil
}

// msError reads the {"error":{"code","message"}} shape of Graph and
// Defender.
func msError(body []byte) (code, msg string) {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	if e.Error.Code != "" && e.Error.Message != "" {
		return e.Error.Code, e.Error.Code + ": " + e.Error.Message
	}
	return e.Error.Code, e.Error.Code + e.Error.Message
}

type graphUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	AccountEnabled    *bool  `json:"accountEnabled"`
	SessionsValidFrom string `json:"signInSessionsValidFromDateTime"`
}

func graphGetUser(ctx context.Context, c *conn, user string) (graphUser, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodGet, path: "/v1.0/users/" + url.PathEscape(user),
		query: url.Values{"$select": {"id,userPrincipalName,accountEnabled,signInSessionsValidFromDateTime"}},
	})
	if err != nil {
		return graphUser{}, err
	}
	if !resp.ok() {
		_, msg := msError(resp.body)
		return graphUser{}, c.statusError(resp, msg, "user "+user+" not found")
	}
	var u graphUser
	if err := c.decodeJSON(resp, &u); err != nil {
		return graphUser{}, err
	}
	return u, nil
}

func entraUser(c *conn) (string, error) {
	u, err := requireString(c.call, "user")
	if err != nil {
		return "", err
	}
	if len(u) > 320 {
		return "", invalidParam("%s: user is longer than 320 characters", c.call.Action)
	}
	return u, nil
}

func entraSetEnabled(ctx context.Context, c *conn, enabled bool) (map[string]any, error) {
	user, err := entraUser(c)
	if err != nil {
		return nil, err
	}
	verb := "disabling"
	if enabled {
		verb = "enabling"
	}
	wrap := func(err error) error { return fmt.Errorf("%s user %s: %w", verb, user, err) }
	if err := c.useEntraApp(); err != nil {
		return nil, wrap(err)
	}
	u, err := graphGetUser(ctx, c, user)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"user_id": u.ID, "user_principal_name": u.UserPrincipalName, "account_enabled": enabled, "already": false}
	if u.AccountEnabled != nil && *u.AccountEnabled == enabled {
		out["already"] = true
		c.logAction("account already in wanted state; nothing sent", "user", user)
		return out, nil
	}
	resp, err := c.do(ctx, request{method: http.MethodPatch, path: "/v1.0/users/" + url.PathEscape(u.ID), json: map[string]any{"accountEnabled": enabled}})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.ok() {
		_, msg := msError(resp.body)
		return nil, wrap(c.statusError(resp, msg, "user "+user+" not found"))
	}
	c.logAction("set accountEnabled", "user", user, "enabled", enabled)
	return out, nil
}

func entraRevoke(ctx context.Context, c *conn) (map[string]any, error) {
	user, err := entraUser(c)
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("revoking sessions of user %s: %w", user, err) }
	if err := c.useEntraApp(); err != nil {
		return nil, wrap(err)
	}
	u, err := graphGetUser(ctx, c, user)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"user_id": u.ID, "user_principal_name": u.UserPrincipalName, "already": false}
	// Graph stamps signInSessionsValidFromDateTime on every revocation. If
	// it is later than when this step was first scheduled, an earlier
	// attempt of this very step already revoked: do not revoke again.
	if sched, ok := scheduledTime(ctx); ok && u.SessionsValidFrom != "" {
		// Graph keeps whole seconds.
		if t, err := time.Parse(time.RFC3339, u.SessionsValidFrom); err == nil && !t.Before(sched.Truncate(time.Second)) {
			out["already"] = true
			c.logAction("sessions already revoked since the step was scheduled; nothing sent", "user", user)
			return out, nil
		}
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/v1.0/users/" + url.PathEscape(u.ID) + "/revokeSignInSessions"})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.ok() { // docs say 204, Graph answers 200 {"value":true}: any 2xx
		_, msg := msError(resp.body)
		return nil, wrap(c.statusError(resp, msg, "user "+user+" not found"))
	}
	var v struct {
		Value *bool `json:"value"`
	}
	if len(resp.body) > 0 && json.Unmarshal(resp.body, &v) == nil && v.Value != nil && !*v.Value {
		return nil, wrap(newFailure(kindVendorError, fmt.Sprintf("%s answered value=false", c.where())))
	}
	c.logAction("revoked sign-in sessions", "user", user)
	return out, nil
}
