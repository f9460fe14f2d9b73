package entra_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// The connector on Microsoft Graph's own examples, as they are
// (testdata/README.md).
func TestDocumentedSamples(t *testing.T) {
	user, err := os.ReadFile("testdata/user-get.json")
	if err != nil {
		t.Fatal(err)
	}
	revoke, err := os.ReadFile("testdata/revokesigninsessions.json")
	if err != nil {
		t.Fatal(err)
	}
	var revoked int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/token":
			_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"at"}`))
		case r.URL.Path == "/v1.0/users/AdeleV@contoso.onmicrosoft.com" && r.Method == http.MethodGet:
			_, _ = w.Write(user)
		case r.URL.Path == "/v1.0/users/87d349ed-44d7-43e1-9a83-5f2406dee5bd/revokeSignInSessions" && r.Method == http.MethodPost:
			revoked++
			_, _ = w.Write(revoke)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"Request_ResourceNotFound","message":"not in the test"}}`))
		}
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["entra"] = activities.Connection{Type: "entra", BaseURL: srv.URL,
		Options: map[string]string{"client_id": "c", "token_url": srv.URL + "/token"},
		Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "s3cret"}}}
	out := h.MustRun("entra.revoke_sessions", map[string]any{"user": "AdeleV@contoso.onmicrosoft.com"}, "k1")
	if revoked != 1 || out["user_id"] != "87d349ed-44d7-43e1-9a83-5f2406dee5bd" || out["user_principal_name"] != "AdeleV@contoso.onmicrosoft.com" || out["already"] != false {
		t.Fatalf("revoked %d, out = %v", revoked, out)
	}
}
