package sentinelone_test

import (
	"github.com/riposte-dev/riposte/activities/sentinelone"
	"testing"

	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

func s1Status(h *connectortest.Harness, host string) string {
	for _, hs := range h.Lab.State().Hosts {
		if hs.Hostname == host {
			return hs.SentinelOne
		}
	}
	return ""
}

// A computer name with more agent records than the API's default page
// (10): the live agent is on page 2. Reading page 1 only disconnects a
// stale record, gets affected 1 and leaves the host online.
func TestDisconnectFindsLiveAgentBeyondFirstPage(t *testing.T) {
	h := connectortest.New(t)
	lab.Fake[*sentinelone.Fake](h.Lab).AddStaleAgents("web-prod-01", 12)
	out := h.MustRun("sentinelone.disconnect_agent", map[string]any{"hostname": "web-prod-01"}, "k1")
	if got := s1Status(h, "web-prod-01"); got != "disconnected" {
		t.Fatalf("live agent is %q after disconnect (output %v); a stale record was acted on", got, out)
	}
	if n := lab.Fake[*sentinelone.Fake](h.Lab).StaleActions(); n != 0 {
		t.Errorf("%d actions went to stale agent records", n)
	}
	h.MustRun("sentinelone.reconnect_agent", map[string]any{"hostname": "web-prod-01"}, "k2")
	if got := s1Status(h, "web-prod-01"); got != "connected" {
		t.Fatalf("live agent is %q after reconnect", got)
	}
}

// More records than one page of the connector's own limit: the lookup
// follows pagination.nextCursor to the end.
func TestLookupFollowsNextCursor(t *testing.T) {
	h := connectortest.New(t)
	lab.Fake[*sentinelone.Fake](h.Lab).AddStaleAgents("db-prod-02", 450)
	h.MustRun("sentinelone.disconnect_agent", map[string]any{"hostname": "db-prod-02"}, "k1")
	if got := s1Status(h, "db-prod-02"); got != "disconnected" {
		t.Fatalf("live agent is %q after disconnect", got)
	}
	gets := 0
	for _, r := range h.Lab.Requests(lab.SentinelOne) {
		if r.Method == "GET" {
			gets++
		}
	}
	if gets != 3 {
		t.Errorf("agent lookups = %d, want 3 pages of 200 for 451 records", gets)
	}
}
