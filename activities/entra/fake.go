package entra

import (
	"embed"
	"fmt"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Microsoft Graph fake (Entra ID users): get a user by id or UPN
// (/users/{id} or /users('{key}'), refusing /users/$… like Graph), PATCH
// accountEnabled (204), revokeSignInSessions (200 {"value":true}), which
// stamps signInSessionsValidFromDateTime. Tokens must carry the Graph
// audience (scope https://graph.microsoft.com/.default).

// sampleRevoke is the documented revokeSignInSessions answer
// (testdata/README.md).
var (
	//go:embed testdata/revokesigninsessions.json
	samples      embed.FS
	sampleRevoke = labkit.Sample(samples, "testdata/revokesigninsessions.json")
)

var graphPatchable = map[string]bool{"accountEnabled": true, "displayName": true, "jobTitle": true}

func (fk *Fake) graphUser(key string) *graphUserState {
	for _, u := range fk.users() {
		if u.id == key || strings.EqualFold(u.Login, key) {
			return u
		}
	}
	return nil
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !fk.Bearer(r, vendorName) {
				labkit.MSError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
				return
			}
			h(w, r)
		}
	}
	// user finds the user the path names, /users/{id} or /users('{key}'),
	// or answers Graph's 400 or 404 and returns nil. Callers hold Mu.
	user := func(w http.ResponseWriter, r *http.Request) *graphUserState {
		key, ok := graphUserKey(w, r)
		if !ok {
			return nil
		}
		u := fk.graphUser(key)
		if u == nil {
			labkit.MSError(w, http.StatusNotFound, "Request_ResourceNotFound",
				fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key))
		}
		return u
	}
	// with runs h on the user of the path's {id}, holding Mu.
	with := func(h func(w http.ResponseWriter, r *http.Request, u *graphUserState)) http.HandlerFunc {
		return auth(func(w http.ResponseWriter, r *http.Request) {
			fk.Mu.Lock()
			defer fk.Mu.Unlock()
			if u := user(w, r); u != nil {
				h(w, r, u)
			}
		})
	}
	fk.Handle(mux, vendorName, "GET /graph/v1.0/users", labkit.ReadRoute, labkit.MSFault, auth(func(w http.ResponseWriter, r *http.Request) {
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		top := len(fk.users())
		if n, err := strconv.Atoi(r.URL.Query().Get("$top")); err == nil && n >= 1 && n < top {
			top = n
		}
		vals := []map[string]any{}
		for _, u := range fk.users()[:top] {
			vals = append(vals, map[string]any{"id": u.id, "userPrincipalName": u.Login})
		}
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": vals})
	}))
	getUser := with(func(w http.ResponseWriter, r *http.Request, u *graphUserState) {
		labkit.WriteJSON(w, http.StatusOK, map[string]any{
			"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
			"id":             u.id, "userPrincipalName": u.Login, "displayName": u.First + " " + u.Last,
			"accountEnabled":                  u.enabled,
			"signInSessionsValidFromDateTime": u.valid.Format(time.RFC3339),
		})
	})
	patchUser := auth(func(w http.ResponseWriter, r *http.Request) {
		if !labkit.IsJSON(r) {
			labkit.MSError(w, http.StatusUnsupportedMediaType, "Request_BadRequest", "A supported MIME type could not be found that matches the content type of the response.")
			return
		}
		body, err := labkit.DecodeBody(r)
		if err != nil {
			labkit.MSError(w, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
			return
		}
		for k := range body {
			if !graphPatchable[k] {
				labkit.MSError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Property '%s' does not exist on type 'microsoft.graph.user' (or is not writable in the lab).", k))
				return
			}
		}
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		u := user(w, r)
		if u == nil {
			return
		}
		if v, ok := body["accountEnabled"]; ok {
			b, isBool := v.(bool)
			if !isBool {
				labkit.MSError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'accountEnabled' of resource 'User'.")
				return
			}
			op := "disable"
			if b {
				op = "enable"
			}
			changed := u.enabled != b
			if changed {
				u.enabled, u.since = b, time.Now().UTC()
			}
			fk.Record(r, vendorName, op, u.Login, changed, http.StatusNoContent, "")
		}
		w.WriteHeader(http.StatusNoContent)
	})
	revoke := with(func(w http.ResponseWriter, r *http.Request, u *graphUserState) {
		changed := u.sessions > 0
		now := time.Now().UTC()
		u.sessions, u.valid = 0, now
		if changed {
			u.revokedAt = now
		}
		fk.Record(r, vendorName, "revoke_sessions", u.Login, changed, http.StatusOK, "")
		labkit.WriteJSON(w, http.StatusOK, sampleRevoke)
	})
	// Each user route twice: /users/{id} and the key form /users('…')
	// (graphUserKey), which ServeMux can only match as a whole segment.
	for _, p := range []string{"users/{id}", "{key}"} {
		fk.Handle(mux, vendorName, "GET /graph/v1.0/"+p, labkit.ReadRoute, labkit.MSFault, getUser)
		fk.Handle(mux, vendorName, "PATCH /graph/v1.0/"+p, labkit.MutateRoute, labkit.MSFault, patchUser)
		fk.Handle(mux, vendorName, "POST /graph/v1.0/"+p+"/revokeSignInSessions", labkit.MutateRoute, labkit.MSFault, revoke)
	}
}

// graphUserKey is the user id or UPN of a request's path, as Graph reads
// it: /users/{id}, or OData's key syntax /users('{key}') with any quote
// inside doubled. Graph refuses /users/$x@y.com with 400, as the $ makes
// the segment a system query option; a UPN that begins with $ must use the
// key syntax ("Get user", HTTP request: microsoftgraph/
// microsoft-graph-docs-contrib api-reference/v1.0/api/user-get.md). The
// 400's message is the one reported in microsoftgraph/msgraph-sdk-dotnet
// issue 2635. On a path Graph refuses, it answers and returns false.
func graphUserKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	if id := r.PathValue("id"); id != "" {
		if strings.HasPrefix(id, "$") {
			labkit.MSError(w, http.StatusBadRequest, "BadRequest", "The request URI is not valid. Since the segment 'users' refers to a collection, "+
				"this must be the last segment in the request URI or it must be followed by an function or action that can be bound to it "+
				"otherwise all intermediate segments must refer to a single resource.")
			return "", false
		}
		return id, true
	}
	seg := r.PathValue("key")
	if lit, ok := strings.CutPrefix(seg, "users("); ok {
		if lit, ok := strings.CutSuffix(lit, ")"); ok {
			if key, ok := odataString(lit); ok {
				return key, true
			}
			labkit.MSError(w, http.StatusBadRequest, "BadRequest", "Bad Request - Error in query syntax.")
			return "", false
		}
	}
	labkit.MSError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", seg))
	return "", false
}

// odataString decodes an OData string literal: single quotes around, a
// quote inside written twice.
func odataString(lit string) (string, bool) {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", false
	}
	inner := lit[1 : len(lit)-1]
	if strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
		return "", false
	}
	return strings.ReplaceAll(inner, "''", "'"), true
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "entra"

// Lab credentials. They are public test constants, not secrets.
const (
	graphClientID = "lab-graph-app"
	graphSecret   = "lab-graph-secret"
)

// graphUserState is a user as Microsoft Graph knows it.
type graphUserState struct {
	*labkit.User
	id        string
	enabled   bool
	since     time.Time // accountEnabled last changed
	valid     time.Time // signInSessionsValidFromDateTime
	sessions  int
	revokedAt time.Time
}

// Fake is the lab's Microsoft Graph (Entra ID) fake (see the top of this
// file).
type Fake struct {
	labkit.Base
	state map[*labkit.User]*graphUserState
}

// NewFake returns the fake, serving on the lab of k. Its app signs in at
// the lab's Microsoft token endpoint with the Graph scope.
func NewFake(k *labkit.Kit) *Fake {
	k.RegisterMicrosoftApp(graphClientID, graphSecret)
	k.RegisterMicrosoftScope("https://graph.microsoft.com/.default", vendorName)
	return &Fake{Base: labkit.NewBase(k, vendorName), state: map[*labkit.User]*graphUserState{}}
}

// users lists every directory user's Graph state. Callers hold Mu.
func (fk *Fake) users() []*graphUserState {
	return labkit.States(fk.Kit.Users, fk.state, func(u *labkit.User) *graphUserState {
		return &graphUserState{User: u, id: labkit.GUID("entra:" + u.Login), enabled: u.Status != "DEPROVISIONED",
			valid: time.Now().UTC().Truncate(time.Second).Add(-72 * time.Hour), sessions: 2}
	})
}

// Connections implements labkit.Fake.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{
		vendorName: {Type: vendorName, BaseURL: fk.URL + "/graph",
			Options: map[string]string{"tenant_id": labkit.MSTenant, "client_id": graphClientID, "token_url": fk.MicrosoftTokenURL()},
			Secrets: map[string]connector.SecretRef{"client_secret": labkit.Lit(graphSecret)}},
	}
}

// Snapshot implements labkit.Fake: disabled users, revoked sessions.
func (fk *Fake) Snapshot(st *labkit.State) {
	for _, u := range fk.users() {
		st.Users[u.Index].EntraEnabled = u.enabled
		if !u.enabled {
			st.DisabledUsers = append(st.DisabledUsers, labkit.UserState{Vendor: vendorName, User: u.Login, ID: u.id, Since: u.since})
		}
		if !u.revokedAt.IsZero() {
			st.RevokedSessions = append(st.RevokedSessions, labkit.UserState{Vendor: vendorName, User: u.Login, ID: u.id, Since: u.revokedAt})
		}
	}
}
