// Package entra is the Entra ID connector (Microsoft Graph): disable and
// enable accounts and revoke sign-in sessions with an app's
// client-credentials token. Its README cites the vendor documentation the
// code and the fake (fake.go) follow.
package entra

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// Entra ID through Microsoft Graph: disable/enable a user account and
// revoke its sign-in sessions. Auth is the client-credentials grant of an
// app registration (token URL configurable, so the lab can serve it).

// Type is the entra connection type: what a connection needs in riposte.yaml.
var Type = connector.EntraAppType("entra", "Microsoft Graph for Entra ID users (app with User.ReadWrite.All, User.RevokeSessions.All).",
	"https://graph.microsoft.com", "https://graph.microsoft.com/.default")

// docs is the connector's docs fragment (docs/actions.md is generated
// from it).
//
//go:embed README.md
var docs string

// Connector is this vendor's line in the registry (activities/connections.go).
func Connector() connector.Vendor {
	return connector.Vendor{Docs: docs, Type: Type, Definitions: Definitions, Check: check,
		Needs: "application permissions User.ReadWrite.All and User.RevokeSessions.All (Microsoft Graph)"}
}

func Definitions() []connector.Definition {
	userParams := []catalog.Param{
		{Name: "user", Type: catalog.TypeString, Required: true, Description: "User principal name (jdoe@example.com) or object id."},
		connector.ConnectionParam("entra"),
	}
	userOutputs := []catalog.Field{
		{Name: "user_id", Type: catalog.TypeString, Description: "Object id of the user."},
		{Name: "user_principal_name", Type: catalog.TypeString, Description: "User principal name."},
		{Name: "account_enabled", Type: catalog.TypeBool, Description: "Whether the account is enabled after the call."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the account was already in the wanted state, so nothing was sent."},
		connector.ConnectionOutput(),
	}
	return append(connector.Undoable{Type: Type, Label: "Entra ID", Params: userParams, Outputs: userOutputs,
		Do: connector.Half{Name: "entra.disable_user", Description: "Disables an Entra ID user account (accountEnabled=false): no new sign-ins. Existing sessions live until they expire; pair with entra.revoke_sessions.",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return entraSetEnabled(ctx, c, false)
			}},
		Undo: connector.Half{Name: "entra.enable_user", Description: "Enables an Entra ID user account (accountEnabled=true). An enabled account is left as is.",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return entraSetEnabled(ctx, c, true)
			}},
	}.Definitions(),
		connector.Definition{
			Action: catalog.Action{
				Name: "entra.revoke_sessions", Vendor: "entra", Risk: catalog.RiskContain, Undo: "core.noop",
				Description: "Revokes every refresh token and session cookie of an Entra ID user (revokeSignInSessions), forcing a new sign-in. Revoked sessions cannot be restored, so the undo is core.noop.",
				Params:      userParams,
				Outputs: []catalog.Field{
					{Name: "user_id", Type: catalog.TypeString, Description: "Object id of the user."},
					{Name: "user_principal_name", Type: catalog.TypeString, Description: "User principal name."},
					{Name: "already", Type: catalog.TypeBool, Description: "True when sessions were already revoked since this step was scheduled (a retry), so nothing was sent."},
					connector.ConnectionOutput(),
				},
			},
			Run: connector.Run(Type, "Entra ID", false, entraRevoke),
		},
	)
}

type graphUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	AccountEnabled    *bool  `json:"accountEnabled"`
	SessionsValidFrom string `json:"signInSessionsValidFromDateTime"`
}

// userPath is the Graph path of a user by object id or UPN. A UPN that
// begins with "$" takes OData's key syntax, /users('$x@y.com') (a quote
// inside doubled): Graph answers /users/$x@y.com with 400 because a leading
// $ marks a system query option ("Get user", HTTP request:
// microsoftgraph/microsoft-graph-docs-contrib
// api-reference/v1.0/api/user-get.md).
func userPath(user string) string {
	if strings.HasPrefix(user, "$") {
		return "/v1.0/users('" + url.PathEscape(strings.ReplaceAll(user, "'", "''")) + "')"
	}
	return "/v1.0/users/" + url.PathEscape(user)
}

func graphGetUser(ctx context.Context, c *connector.Conn, user string) (graphUser, error) {
	resp, err := c.Do(ctx, connector.Request{
		Method: http.MethodGet, Path: userPath(user),
		Query: url.Values{"$select": {"id,userPrincipalName,accountEnabled,signInSessionsValidFromDateTime"}},
	})
	if err != nil {
		return graphUser{}, err
	}
	if !resp.OK() {
		return graphUser{}, c.MSStatusError(resp, "user "+user+" not found")
	}
	var u graphUser
	if err := c.DecodeJSON(resp, &u); err != nil {
		return graphUser{}, err
	}
	if strings.TrimSpace(u.ID) == "" {
		// Every Graph user has an id (user resource type): an answer
		// without one (a collection, a proxy's JSON) is not the user, and
		// acting on "" would call /v1.0/users/ or /users//….
		return graphUser{}, connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered HTTP %d without an id for user %s (%s); check base_url and any proxy", c.Where(), resp.Status, user, connector.Snippet(resp.Body)))
	}
	return u, nil
}

func entraUser(c *connector.Conn) (string, error) {
	u, err := connector.RequireString(c.Call, "user")
	if err != nil {
		return "", err
	}
	if connector.DotSegment(u) {
		// /v1.0/users/. and /users/.. are the collection and the service
		// root once a server or proxy removes the dot segment.
		return "", connector.InvalidParam("%s: user %q is not a user id or user principal name", c.Call.Action, u)
	}
	if len(u) > 320 {
		return "", connector.InvalidParam("%s: user is longer than 320 characters", c.Call.Action)
	}
	return u, nil
}

func entraSetEnabled(ctx context.Context, c *connector.Conn, enabled bool) (map[string]any, error) {
	user, err := entraUser(c)
	if err != nil {
		return nil, err
	}
	verb := "disabling"
	if enabled {
		verb = "enabling"
	}
	wrap := func(err error) error { return fmt.Errorf("%s user %s: %w", verb, user, err) }
	if err := c.UseEntraApp(); err != nil {
		return nil, wrap(err)
	}
	u, err := graphGetUser(ctx, c, user)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"user_id": u.ID, "user_principal_name": u.UserPrincipalName, "account_enabled": enabled, "already": false}
	if u.AccountEnabled != nil && *u.AccountEnabled == enabled {
		out["already"] = true
		c.LogAction("account already in wanted state; nothing sent", "user", user)
		return out, nil
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodPatch, Path: userPath(u.ID), JSON: map[string]any{"accountEnabled": enabled}})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.OK() {
		return nil, wrap(c.MSStatusError(resp, "user "+user+" not found"))
	}
	c.LogAction("set accountEnabled", "user", user, "enabled", enabled)
	return out, nil
}

// revokeProgress is revoke_sessions' heartbeat details: Sent once an
// attempt is about to send the revocation.
type revokeProgress struct {
	Sent bool `json:"sent"`
}

func entraRevoke(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	user, err := entraUser(c)
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("revoking sessions of user %s: %w", user, err) }
	if err := c.UseEntraApp(); err != nil {
		return nil, wrap(err)
	}
	u, err := graphGetUser(ctx, c, user)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"user_id": u.ID, "user_principal_name": u.UserPrincipalName, "already": false}
	// Graph stamps signInSessionsValidFromDateTime on every revocation. On
	// a retry whose earlier attempt sent the revocation (its progress says
	// so), a stamp at or after the step's first scheduling is that
	// revocation, its answer lost: do not revoke again. Otherwise (the first
	// attempt, or earlier attempts that failed before sending, or whose
	// progress did not carry over: a local activity) a newer stamp is
	// someone else's revocation or a password change (the user may revoke
	// their own sessions, an attacker holding the account too, and sign in
	// again after), not this step's, so it revokes.
	var prev revokeProgress
	if sched, ok := connector.ScheduledTime(ctx); ok && connector.Attempt(ctx) > 1 && connector.LoadProgress(ctx, &prev) && prev.Sent && u.SessionsValidFrom != "" {
		// Graph keeps whole seconds.
		if t, err := time.Parse(time.RFC3339, u.SessionsValidFrom); err == nil && !t.Before(sched.Truncate(time.Second)) {
			out["already"] = true
			c.LogAction("sessions already revoked since the step was scheduled; nothing sent", "user", user)
			return out, nil
		}
	}
	connector.SaveProgress(ctx, revokeProgress{Sent: true})
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodPost, Path: userPath(u.ID) + "/revokeSignInSessions"})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.OK() { // docs say 204, Graph answers 200 {"value":true}: any 2xx
		return nil, wrap(c.MSStatusError(resp, "user "+user+" not found"))
	}
	var v struct {
		Value *bool `json:"value"`
	}
	if len(resp.Body) > 0 && json.Unmarshal(resp.Body, &v) == nil && v.Value != nil && !*v.Value {
		return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered value=false", c.Where())))
	}
	c.LogAction("revoked sign-in sessions", "user", user)
	return out, nil
}

// check fetches a token and reads one user.
func check(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	if err := c.UseEntraApp(); err != nil {
		return nil, err
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/v1.0/users", Query: url.Values{"$top": {"1"}, "$select": {"id"}}})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, c.MSStatusError(resp, "")
	}
	return map[string]any{"detail": "token and User.Read.All ok (User.ReadWrite.All and User.RevokeSessions.All are only checked by acting)"}, nil
}
