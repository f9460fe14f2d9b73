package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// TestEndedRunKeepsFindingView: docs/detections.md says `riposte runs show`
// and GET /v1/runs/{id} show the run's `finding`. While the run ran they
// did (from the run's query); once it ended, the API read only the run's
// result, which carries the view only when a later record changed it, so
// the view (which host, user, IP the run was about) vanished from both
// exactly when an analyst reviews what was done.
func TestEndedRunKeepsFindingView(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	code, r := h.submit(detectionJSON("ended-view-1", 4, `,"actor":{"user":{"name":"j.moreau"}}`))
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-contain")
	if d := h.waitRun(wid, time.Minute); d.Status != workflows.RunSucceeded {
		t.Fatalf("run: %+v", d)
	}
	c, b := h.do("GET", "/v1/runs/"+wid, h.token, "")
	var d api.RunDetail
	if c != 200 || json.Unmarshal(b, &d) != nil {
		t.Fatalf("GET /v1/runs/%s: %d %s", wid, c, b)
	}
	hosts, _ := d.Finding["hosts"].([]any)
	if h0, _ := func() (map[string]any, bool) {
		if len(hosts) == 0 {
			return nil, false
		}
		m, ok := hosts[0].(map[string]any)
		return m, ok
	}(); h0["value"] != "fin-ws-042" {
		t.Errorf("GET /v1/runs/{id} of the ended run has no finding view (hosts %v): %.600s", d.Finding["hosts"], b)
	}
	code, out, stderr := runCLI(t, "runs", "show", wid, "--api", h.baseURL, "--token", h.token)
	if want := "finding:   severity High, confidence 90, state active; hosts fin-ws-042; users j.moreau"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("runs show of the ended run lacks %q:\n%s%s", want, out, stderr)
	}
}
