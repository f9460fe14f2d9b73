package defender_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// appRoleTenant is the Microsoft identity platform and the Defender API
// as documented for application permissions: an app-only token carries
// the application roles consented when it was issued in its "roles"
// claim, and the API authorizes each call on that claim, answering 403
// "Missing application roles" when the role is not in it (Microsoft
// identity platform, "Access tokens", the roles claim; Defender
// "Create an app to access Microsoft Defender for Endpoint without a
// user": grant the permission, then "get a new token" and check its roles;
// learn.microsoft.com/en-us/answers/questions/5780201: "Without admin
// consent, the role will not be included in the issued token"). Granting
// the role changes the tokens issued from then on, not the ones already
// issued.
type appRoleTenant struct {
	mu      sync.Mutex
	granted bool            // Machine.Isolate consented for the app now
	roles   map[string]bool // token -> had Machine.Isolate when issued
	n       int
	isolate int // isolations accepted
}

func (a *appRoleTenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/token" {
		a.n++
		tok := fmt.Sprintf("tok-%d", a.n)
		a.roles[tok] = a.granted
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": tok})
		return
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if _, ok := a.roles[tok]; !ok {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"code":"Unauthorized","message":"invalid token"}}`)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/machines":
		fmt.Fprint(w, `{"value":[{"id":"m1","computerDnsName":"fin-ws-042.corp.example.com","lastSeen":"2026-12-01T00:00:00Z"}]}`)
	case r.Method == http.MethodGet && r.URL.Path == "/api/machineactions":
		fmt.Fprint(w, `{"value":[]}`)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/isolate"):
		if !a.roles[tok] {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"error":{"code":"Forbidden","message":"Missing application roles. API required roles: Machine.Isolate"}}`)
			return
		}
		a.isolate++
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":"a1","type":"Isolate","scope":"Full","status":"Pending","machineId":"m1","creationDateTimeUtc":"2026-12-06T00:00:00Z"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// The app lacks Machine.Isolate: the isolation fails with a 403 telling
// the admin to check the API permissions. The admin grants it and the
// step is run again: it must isolate, not fail for as long as the token
// cached before the grant (without the role) lives.
func TestIsolationWorksOnceThePermissionIsGranted(t *testing.T) {
	tenant := &appRoleTenant{roles: map[string]bool{}}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["defender"] = activities.Connection{Type: "defender", BaseURL: srv.URL,
		Options: map[string]string{"client_id": "app", "token_url": srv.URL + "/token"},
		Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "s3cret"}}}
	p := map[string]any{"hostname": "fin-ws-042"}
	_, err := h.Run("defender.isolate_machine", p, "k1")
	if err == nil || !strings.Contains(err.Error(), "API permissions") {
		t.Fatalf("without Machine.Isolate: err = %v, want the 403 naming the API permissions", err)
	}
	tenant.mu.Lock()
	tenant.granted = true // admin consent for Machine.Isolate
	tenant.mu.Unlock()
	out, err := h.Run("defender.isolate_machine", p, "k2")
	if err != nil {
		t.Fatalf("after the permission was granted, the isolation still failed (the token issued before the grant was reused): %v", err)
	}
	if tenant.isolate != 1 || out["action_id"] != "a1" {
		t.Errorf("out = %v, isolations = %d", out, tenant.isolate)
	}
}
