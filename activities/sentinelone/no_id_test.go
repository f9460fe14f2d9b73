package sentinelone_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// Every agent record of "Get Agents" carries its id (the recorded agent,
// testdata/agents-data.json: "id": "657613730168123595"), and actions are
// sent filtered by it. A record without it (dropped or empty: a proxy's
// JSON, a base_url that is not the console) is not an agent to act on:
// the step fails naming the missing id, nothing is sent, and a reconnect
// does not report the agent connected ("already") with agent_id "".
func TestAgentWithoutIDFails(t *testing.T) {
	var agents []map[string]any
	if err := json.Unmarshal(connectortest.Sample(t, "agents-data.json"), &agents); err != nil {
		t.Fatal(err)
	}
	for _, drop := range []bool{true, false} {
		if drop {
			delete(agents[0], "id")
		} else {
			agents[0]["id"] = ""
		}
		page, err := json.Marshal(map[string]any{"data": agents})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var posts []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			if r.Method == http.MethodGet && r.URL.Path == "/web/api/v2.1/agents" {
				_, _ = w.Write(page)
				return
			}
			posts = append(posts, r.URL.Path)
			_, _ = w.Write([]byte(`{"data":{"affected":1}}`))
		}))
		h := connectortest.New(t)
		h.Env.Connections["sentinelone"] = activities.Connection{Type: "sentinelone", BaseURL: srv.URL,
			Secrets: map[string]activities.SecretRef{"api_token": {Lab: "t"}}}
		for _, action := range []string{"sentinelone.disconnect_agent", "sentinelone.reconnect_agent"} {
			out, err := h.Run(action, map[string]any{"hostname": "EC2AMAZ-AJ0KANC"}, "k-"+action)
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != "VendorError" || !ae.NonRetryable() || !strings.Contains(err.Error(), "without an id") {
				t.Errorf("%s (id dropped: %v): output %v, err = %v; want a non-retryable VendorError naming the missing id", action, drop, out, err)
			}
		}
		srv.Close()
		if len(posts) != 0 {
			t.Errorf("id dropped %v: sent %v", drop, posts)
		}
	}
}
