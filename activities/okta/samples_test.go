package okta_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/labkit"
)

// The fake against Okta's documented answers, and the connector on those
// answers as they are (testdata/README.md).
func TestDocumentedSamples(t *testing.T) {
	user, notFound := connectortest.Sample(t, "user-get.json"), connectortest.Sample(t, "error-404-e0000007.json")
	var docUser, docNotFound any
	_ = json.Unmarshal(user, &docUser)
	_ = json.Unmarshal(notFound, &docNotFound)
	h := connectortest.New(t)
	conn := h.Lab.Connections()["okta"]
	call := func(method, path string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, conn.BaseURL+path, nil)
		req.Header.Set("Authorization", "SSWS "+conn.Secrets["api_token"].Lab)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	decode := func(b []byte) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return m
	}

	// Get User with Login: the documented User object's keys and types.
	status, b := call(http.MethodGet, "/api/v1/users/jdoe@example.com")
	if d := labkit.ShapeDiff(decode(b), docUser); status != http.StatusOK || len(d) > 0 {
		t.Errorf("user: %d, departs from the documented User: %v", status, d)
	}
	// An unknown user: 404 E0000007 in the documented error shape.
	status, b = call(http.MethodGet, "/api/v1/users/missing@example.com")
	got := decode(b)
	if d := labkit.ShapeDiff(got, docNotFound); status != http.StatusNotFound || len(d) > 0 || got["errorCode"] != "E0000007" {
		t.Errorf("unknown user: %d %v, departs from the documented error: %v", status, got, d)
	}
	// Suspend: 200 with an empty object; again: 400 E0000001.
	id := decode(func() []byte { _, b := call(http.MethodGet, "/api/v1/users/jdoe@example.com"); return b }())["id"].(string)
	if status, b = call(http.MethodPost, "/api/v1/users/"+id+"/lifecycle/suspend"); status != http.StatusOK || string(b) == "" || len(decode(b)) != 0 {
		t.Errorf("suspend: %d %s, want 200 {}", status, b)
	}
	status, b = call(http.MethodPost, "/api/v1/users/"+id+"/lifecycle/suspend")
	if got = decode(b); status != http.StatusBadRequest || got["errorCode"] != "E0000001" || len(labkit.ShapeDiff(got, docNotFound)) > 0 {
		t.Errorf("second suspend: %d %v, want 400 E0000001 in the documented shape", status, got)
	}
	// Clear User Sessions: 204 No Content.
	if status, b = call(http.MethodDelete, "/api/v1/users/"+id+"/sessions?oauthTokens=true"); status != http.StatusNoContent || len(b) != 0 {
		t.Errorf("clear sessions: %d %q, want 204 and no body", status, b)
	}

	// The connector on the documented User as it is.
	var suspended bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && (r.URL.Path == "/api/v1/users/isaac.brock@example.com" || r.URL.Path == "/api/v1/users/00ub0oNGTSWTBKOLGLNR"):
			_, _ = w.Write(user)
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/users/00ub0oNGTSWTBKOLGLNR/lifecycle/suspend":
			suspended = true
			_, _ = w.Write([]byte("{}"))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write(notFound)
		}
	}))
	defer srv.Close()
	h.Env.Connections["okta"] = activities.Connection{Type: "okta", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"api_token": {Lab: "t"}}}
	out := h.MustRun("okta.suspend_user", map[string]any{"user": "isaac.brock@example.com"}, "k1")
	if !suspended || fmt.Sprintf("%v %v %v %v", out["user_id"], out["login"], out["status"], out["already"]) != "00ub0oNGTSWTBKOLGLNR isaac.brock@example.com SUSPENDED false" {
		t.Errorf("suspended = %v, out = %v", suspended, out)
	}
	// The documented 404 names the missing user in the step's error.
	if _, err := h.Run("okta.suspend_user", map[string]any{"user": "missing@example.com"}, "k2"); err == nil {
		t.Error("an unknown user did not fail the step")
	}
}
