package okta

import (
	"embed"
	"encoding/json"

	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
	"net/http"
	"strings"
	"time"
)

// Okta fake: users by id, login or login short name; lifecycle
// suspend/unsuspend with Okta's state rules (suspend only from ACTIVE, else
// 400 E0000001); DELETE sessions (204). 429 carries X-Rate-Limit-Reset.
//
// Sources (testdata/README.md): Okta's Users API reference
// (okta/okta-developer-docs, docs/reference/api/users): "Get User with
// Login" answers the User object of testdata/user-get.json, an unknown id
// 404 E0000007 as in testdata/error-404-e0000007.json; "Suspend User" and
// "Unsuspend User" answer 200 with an empty object, 400 E0000001 from any
// other status; "Clear User Sessions" answers 204 No Content. The error
// catalogue (data/error-codes.json, same repository) gives each code's
// status and summary ("Api validation failed: {0}", "Invalid token
// provided", "API call exceeded rate limit due to too many requests.").

// sampleUser is Okta's documented User object; the fake answers with it,
// the lab's values set on its keys (labkit.Overlay).
var (
	//go:embed testdata/user-get.json
	samples    embed.FS
	sampleUser = labkit.Sample(samples, "testdata/user-get.json")
)

// userDoc is the user as GET /api/v1/users/{id} answers it.
func (fk *Fake) userDoc(u *oktaUserState) map[string]any {
	created := "2013-06-24T16:39:18.000Z"
	changed := nullTime(u.changedAt)
	if changed == nil {
		changed = created
	}
	// The documented _links, pointing at this user on the lab.
	b, _ := json.Marshal(sampleUser["_links"])
	links := strings.ReplaceAll(strings.ReplaceAll(string(b), "https://${yourOktaDomain}", fk.URL+"/okta"), "00ub0oNGTSWTBKOLGLNR", u.id)
	var l map[string]any
	_ = json.Unmarshal([]byte(links), &l)
	return labkit.Overlay(sampleUser, map[string]any{"id": u.id, "status": u.status, "statusChanged": changed,
		"lastLogin": nil, "_links": l,
		"profile": map[string]any{"login": u.Login, "email": u.Login, "firstName": u.First, "lastName": u.Last, "mobilePhone": nil}})
}

func fakeError(w http.ResponseWriter, status int, code, summary string, causes ...string) {
	var cs []map[string]any
	for _, c := range causes {
		cs = append(cs, map[string]any{"errorSummary": c})
	}
	if cs == nil {
		cs = []map[string]any{}
	}
	labkit.WriteJSON(w, status, map[string]any{"errorCode": code, "errorSummary": summary, "errorLink": code,
		"errorId": "oae" + labkit.StableID(time.Now().String(), 20), "errorCauses": cs})
}

func oktaFault(w http.ResponseWriter, f *labkit.Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("X-Rate-Limit-Limit", "600")
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		w.Header().Set("X-Rate-Limit-Reset", labkit.Epoch(f.RetryAfter))
		fakeError(w, f.Status, "E0000047", "API call exceeded rate limit due to too many requests.")
	case f.Status == http.StatusUnauthorized:
		fakeError(w, f.Status, "E0000011", "Invalid token provided")
	default:
		fakeError(w, f.Status, "E0000009", "Internal Server Error")
	}
}

// oktaUser finds a user by id, login or unambiguous short name. Callers
// hold fk.Mu.
func (fk *Fake) oktaUser(key string) *oktaUserState {
	var short []*oktaUserState
	for _, u := range fk.users() {
		if u.id == key || strings.EqualFold(u.Login, key) {
			return u
		}
		if name, _, _ := strings.Cut(u.Login, "@"); strings.EqualFold(name, key) {
			short = append(short, u)
		}
	}
	if len(short) == 1 {
		return short[0]
	}
	return nil
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "SSWS "+oktaToken {
				fakeError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
				return
			}
			h(w, r)
		}
	}
	notFound := func(w http.ResponseWriter, id string) {
		fakeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (User)")
	}
	// with runs h on the user of the path's {id}, holding Mu; an unknown
	// user is answered 404.
	with := func(h func(w http.ResponseWriter, r *http.Request, u *oktaUserState)) http.HandlerFunc {
		return auth(func(w http.ResponseWriter, r *http.Request) {
			fk.Mu.Lock()
			defer fk.Mu.Unlock()
			u := fk.oktaUser(r.PathValue("id"))
			if u == nil {
				notFound(w, r.PathValue("id"))
				return
			}
			h(w, r, u)
		})
	}
	// The API token's own user (GET /api/v1/users/me).
	fk.Handle(mux, vendorName, "GET /okta/api/v1/users/me", labkit.ReadRoute, oktaFault, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "SSWS "+oktaToken {
			fakeError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
			return
		}
		labkit.WriteJSON(w, http.StatusOK, fk.userDoc(&oktaUserState{User: &labkit.User{Login: "riposte-svc@example.com",
			First: "Riposte", Last: "Service"}, id: "00ulabriposte000001", status: "ACTIVE"}))
	})
	fk.Handle(mux, vendorName, "GET /okta/api/v1/users/{id}", labkit.ReadRoute, oktaFault, with(func(w http.ResponseWriter, r *http.Request, u *oktaUserState) {
		labkit.WriteJSON(w, http.StatusOK, fk.userDoc(u))
	}))
	lifecycle := func(op, from, to, cause string) http.HandlerFunc {
		return with(func(w http.ResponseWriter, r *http.Request, u *oktaUserState) {
			if u.status != from {
				fk.Record(r, vendorName, op, u.Login, false, http.StatusBadRequest, "status "+u.status)
				// "Api validation failed: {0}" (error-codes.json), {0}
				// naming the operation (operationId suspendUser).
				fakeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: "+op+"User", cause)
				return
			}
			u.status, u.changedAt = to, time.Now().UTC()
			fk.Record(r, vendorName, op, u.Login, true, http.StatusOK, "")
			labkit.WriteJSON(w, http.StatusOK, map[string]any{}) // "Returns an empty object"
		})
	}
	fk.Handle(mux, vendorName, "POST /okta/api/v1/users/{id}/lifecycle/suspend", labkit.MutateRoute, oktaFault,
		lifecycle("suspend", "ACTIVE", "SUSPENDED", "Cannot suspend a user that is not active"))
	fk.Handle(mux, vendorName, "POST /okta/api/v1/users/{id}/lifecycle/unsuspend", labkit.MutateRoute, oktaFault,
		lifecycle("unsuspend", "SUSPENDED", "ACTIVE", "Cannot unsuspend a user that is not suspended"))
	fk.Handle(mux, vendorName, "DELETE /okta/api/v1/users/{id}/sessions", labkit.MutateRoute, oktaFault, with(func(w http.ResponseWriter, r *http.Request, u *oktaUserState) {
		changed := u.sessions > 0
		note := ""
		if r.URL.Query().Get("oauthTokens") != "true" {
			note = "OAuth tokens kept (oauthTokens not true)"
		}
		u.sessions = 0
		if changed {
			u.revokedAt = time.Now().UTC()
		}
		fk.Record(r, vendorName, "clear_sessions", u.Login, changed, http.StatusNoContent, note)
		w.WriteHeader(http.StatusNoContent)
	}))
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "okta"

// Lab credentials. They are public test constants, not secrets.
const oktaToken = "lab-okta-token"

// oktaUserState is a user as Okta knows it.
type oktaUserState struct {
	*labkit.User
	id        string
	status    string
	changedAt time.Time
	sessions  int
	revokedAt time.Time
}

// Fake is the lab's Okta fake (see the top of this file).
type Fake struct {
	labkit.Base
	state map[*labkit.User]*oktaUserState
}

// NewFake returns the fake, serving on the lab of k.
func NewFake(k *labkit.Kit) *Fake {
	return &Fake{Base: labkit.NewBase(k, vendorName), state: map[*labkit.User]*oktaUserState{}}
}

// users lists every directory user's Okta state. Callers hold Mu.
func (fk *Fake) users() []*oktaUserState {
	return labkit.States(fk.Kit.Users, fk.state, func(u *labkit.User) *oktaUserState {
		return &oktaUserState{User: u, id: "00u" + labkit.StableID("okta:"+u.Login, 17), status: u.Status, sessions: 2}
	})
}

// Connections implements labkit.Fake.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{
		vendorName: {Type: vendorName, BaseURL: fk.URL + "/okta",
			Secrets: map[string]connector.SecretRef{"api_token": labkit.Lit(oktaToken)}},
	}
}

// Snapshot implements labkit.Fake: suspended users, cleared sessions.
func (fk *Fake) Snapshot(st *labkit.State) {
	for _, u := range fk.users() {
		st.Users[u.Index].Okta, st.Users[u.Index].OktaSessions = u.status, u.sessions
		if u.status == "SUSPENDED" {
			st.SuspendedUsers = append(st.SuspendedUsers, labkit.UserState{Vendor: vendorName, User: u.Login, ID: u.id, Since: u.changedAt})
		}
		if !u.revokedAt.IsZero() {
			st.RevokedSessions = append(st.RevokedSessions, labkit.UserState{Vendor: vendorName, User: u.Login, ID: u.id, Since: u.revokedAt})
		}
	}
}
