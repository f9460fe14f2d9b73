package sentinelone_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/labkit"
)

// The fake against agent records and an error body recorded from real
// consoles, and the connector on them as they are. The recordings are
// third-party (Cortex XSOAR's test data, a Rapid7 plugin's test log), not
// SentinelOne's: testdata/README.md.
func TestRecordedSamples(t *testing.T) {
	agents, serverError := connectortest.Sample(t, "agents-data.json"), connectortest.Sample(t, "error-500.json")

	// The fake answers in the recorded shapes.
	h := connectortest.New(t)
	conn := h.Lab.Connections()["sentinelone"]
	get := func(path, token string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, conn.BaseURL+path, nil)
		req.Header.Set("Authorization", "ApiToken "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, b)
		}
		return resp.StatusCode, m
	}
	token := conn.Secrets["api_token"].Lab
	status, got := get("/web/api/v2.1/agents?computerName=fin-ws-042", token)
	data, _ := got["data"].([]any)
	if d := labkit.ShapeDiff(got["data"], connectortest.JSON(t, agents)); status != http.StatusOK || len(d) > 0 || len(data) != 1 {
		t.Errorf("agents: %d %v, records depart from the recorded agent: %v", status, got, d)
	}
	status, got = get("/web/api/v2.1/agents?computerName=fin-ws-042", "wrong")
	if d := labkit.ShapeDiff(got, connectortest.JSON(t, serverError)); status != http.StatusUnauthorized || len(d) > 0 {
		t.Errorf("bad token: %d %v, departs from the recorded error: %v", status, got, d)
	}
	h.Lab.Kit.InjectFault("sentinelone", labkit.Fault{Status: http.StatusInternalServerError})
	status, got = get("/web/api/v2.1/agents?computerName=fin-ws-042", token)
	if d := labkit.ShapeDiff(got, connectortest.JSON(t, serverError)); status != http.StatusInternalServerError || len(d) > 0 ||
		fmt.Sprint(got) != fmt.Sprint(connectortest.JSON(t, serverError)) {
		t.Errorf("server error: %d %v, want the recorded body %s (%v)", status, got, serverError, d)
	}

	// The connector on the recorded agent as it is: EC2AMAZ-AJ0KANC, id
	// 657613730168123595, networkStatus "connecting". The recording is the
	// answer's data member only (XSOAR keeps no more), so the test server
	// puts it in {"data": ...} and sends no pagination: one page.
	var mu sync.Mutex
	var actions []string // "path body" of each action POST
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("Authorization") != "ApiToken t":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write(serverError)
		case r.Method == http.MethodGet && r.URL.Path == "/web/api/v2.1/agents" && r.URL.Query().Get("computerName") == "EC2AMAZ-AJ0KANC":
			_, _ = w.Write([]byte(`{"data":` + string(agents) + `}`))
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/web/api/v2.1/agents/actions/"):
			b, _ := io.ReadAll(r.Body)
			actions = append(actions, r.URL.Path+" "+strings.Join(strings.Fields(string(b)), ""))
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write(serverError)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write(serverError)
		}
	}))
	defer srv.Close()
	h.Env.Connections["sentinelone"] = activities.Connection{Type: "sentinelone", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"api_token": {Lab: "t"}}}
	params := map[string]any{"hostname": "EC2AMAZ-AJ0KANC"}

	// "connecting" counts as reconnected: nothing is sent.
	out := h.MustRun("sentinelone.reconnect_agent", params, "k1")
	if got := fmt.Sprintf("%v %v %v %v %v", out["agent_id"], out["hostname"], out["network_status"], out["already"], out["affected"]); got != "657613730168123595 EC2AMAZ-AJ0KANC connecting true 0" {
		t.Errorf("recorded agent read as %v", out)
	}
	// Disconnecting it filters by the recorded id; the recorded 500 fails
	// the step with its title and detail (not the raw body).
	_, err := h.Run("sentinelone.disconnect_agent", params, "k2")
	mu.Lock()
	defer mu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "(HTTP 500: Internal server error Server could not process the request.)") {
		t.Errorf("recorded 500: err = %v", err)
	}
	if want := []string{`/web/api/v2.1/agents/actions/disconnect {"filter":{"ids":["657613730168123595"]}}`}; fmt.Sprint(actions) != fmt.Sprint(want) {
		t.Errorf("actions sent = %q, want %q", actions, want)
	}
}
