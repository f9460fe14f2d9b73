package crowdstrike_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/labkit"
)

// The fake against recorded Falcon API answers, and the connector on those
// answers as they are. The recordings are third-party (JupiterOne's and
// Cortex XSOAR's test data), not CrowdStrike's: testdata/README.md.
func TestRecordedSamples(t *testing.T) {
	token, tokenDenied := connectortest.Sample(t, "oauth2-token.json"), connectortest.Sample(t, "oauth2-token-403.json")
	query, entities := connectortest.Sample(t, "devices-query.json"), connectortest.Sample(t, "devices-entities-v2.json")
	gatewayDenied := connectortest.Sample(t, "error-403-gateway.json")

	// The fake answers in the recorded shapes.
	h := connectortest.New(t)
	conn := h.Lab.Connections()["crowdstrike"]
	do := func(req *http.Request) (int, any) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: %v in %s", req.Method, req.URL.Path, err, b)
		}
		return resp.StatusCode, v
	}
	tokenReq := func(secret string) *http.Request {
		f := url.Values{"client_id": {conn.Options["client_id"]}, "client_secret": {secret}}
		req, _ := http.NewRequest(http.MethodPost, conn.BaseURL+"/oauth2/token", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}
	status, got := do(tokenReq(conn.Secrets["client_secret"].Lab))
	if d := labkit.ShapeDiff(got, connectortest.JSON(t, token)); status != http.StatusCreated || len(d) > 0 {
		t.Errorf("token: %d, departs from the recorded answer: %v", status, d)
	}
	bearer, _ := got.(map[string]any)["access_token"].(string)
	status, got = do(tokenReq("wrong"))
	if d := labkit.ShapeDiff(got, connectortest.JSON(t, tokenDenied)); status != http.StatusForbidden || len(d) > 0 {
		t.Errorf("refused token: %d %v, departs from the recorded answer: %v", status, got, d)
	}
	get := func(path string, q url.Values, auth string) (int, any) {
		req, _ := http.NewRequest(http.MethodGet, conn.BaseURL+path+"?"+q.Encode(), nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		return do(req)
	}
	status, got = get("/devices/queries/devices/v1", url.Values{"filter": {"hostname:'fin-ws-042'"}}, bearer)
	page, _ := got.(map[string]any)
	meta, _ := page["meta"].(map[string]any)
	ids, _ := page["resources"].([]any)
	if d := labkit.ShapeDiff(got, connectortest.JSON(t, query)); status != http.StatusOK || len(d) > 0 || meta["pagination"] == nil || len(ids) != 1 {
		t.Fatalf("device query: %d %v, departs from the recorded answer: %v", status, got, d)
	}
	status, got = get("/devices/entities/devices/v2", url.Values{"ids": {ids[0].(string)}}, bearer)
	if d := labkit.ShapeDiff(got, connectortest.JSON(t, entities)); status != http.StatusOK || len(d) > 0 {
		t.Errorf("device details: %d, departs from the recorded answer: %v", status, d)
	}
	status, got = get("/devices/entities/devices/v2", url.Values{"ids": {ids[0].(string)}}, "")
	if d := labkit.ShapeDiff(got, connectortest.JSON(t, gatewayDenied)); status != http.StatusUnauthorized || len(d) > 0 {
		t.Errorf("no bearer: %d %v, departs from the recorded gateway error: %v", status, got, d)
	}

	// The connector on the recorded answers as they are: the recorded host
	// FALCON-CROWDSTR has device id "identifier_number" (as XSOAR redacted
	// it) and status "normal".
	var mu sync.Mutex
	tokenAnswer := tokenDenied
	var actions []string // "action_name ids" of each devices-actions POST
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		reply := func(status int, body []byte) {
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/oauth2/token":
			if string(tokenAnswer) == string(tokenDenied) {
				reply(http.StatusForbidden, tokenDenied)
				return
			}
			reply(http.StatusCreated, tokenAnswer)
		case r.Header.Get("Authorization") != "Bearer [REDACTED]":
			reply(http.StatusUnauthorized, gatewayDenied)
		case r.URL.Path == "/devices/queries/devices/v1" && r.URL.Query().Get("filter") == "hostname:'FALCON-CROWDSTR'":
			reply(http.StatusOK, query)
		case r.URL.Path == "/devices/entities/devices/v2" && r.URL.Query().Get("ids") == "15dbb9d8f06b45fe9f61eb46e829d986":
			reply(http.StatusOK, entities)
		case r.Method == http.MethodPost && r.URL.Path == "/devices/entities/devices-actions/v2":
			b, _ := io.ReadAll(r.Body)
			actions = append(actions, r.URL.Query().Get("action_name")+" "+strings.Join(strings.Fields(string(b)), ""))
			reply(http.StatusForbidden, gatewayDenied)
		default:
			reply(http.StatusNotFound, gatewayDenied)
		}
	}))
	defer srv.Close()
	h.Env.Connections["crowdstrike"] = activities.Connection{Type: "crowdstrike", BaseURL: srv.URL,
		Options: map[string]string{"client_id": "id"}, Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "s"}}}
	params := map[string]any{"hostname": "FALCON-CROWDSTR"}

	// The recorded refusal of the client credentials names Falcon's reason.
	if _, err := h.Run("crowdstrike.lift_containment", params, "k1"); err == nil ||
		!strings.Contains(err.Error(), "(HTTP 403: Failed to issue access token - Not Authorized)") || !connectortest.AppError(t, err).NonRetryable() {
		t.Errorf("recorded token refusal: err = %v", err)
	}
	mu.Lock()
	tokenAnswer = token
	mu.Unlock()
	// The recorded device is "normal": lifting containment sends nothing.
	out := h.MustRun("crowdstrike.lift_containment", params, "k2")
	if got := fmt.Sprintf("%v %v %v %v %v", out["device_id"], out["hostname"], out["status"], out["already"], out["matches"]); got != "identifier_number FALCON-CROWDSTR normal true 1" {
		t.Errorf("recorded device read as %v", out)
	}
	// Containing it posts the recorded device id; the recorded gateway
	// refusal fails the step with Falcon's message (errors[].message, not
	// the raw body).
	_, err := h.Run("crowdstrike.contain_host", params, "k3")
	mu.Lock()
	defer mu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "(HTTP 403: access denied, authorization failed)") {
		t.Errorf("recorded gateway refusal: err = %v", err)
	}
	if want := []string{`contain {"ids":["identifier_number"]}`}; fmt.Sprint(actions) != fmt.Sprint(want) {
		t.Errorf("actions sent = %q, want %q", actions, want)
	}
}
