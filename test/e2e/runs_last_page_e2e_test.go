package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestRunsListLastFullPageHasNoCursor: GET /v1/runs has next_cursor "while
// more runs match" and riposte runs list prints "(more runs: ... --cursor
// C lists the next N)" only "when more runs match than --limit" (README).
// Temporal's visibility returns a page token whenever a page is full, so
// with exactly --limit runs the answer said there were more, the CLI
// printed the cursor, and the page it named was empty ("no runs"). The
// last page has no cursor, whatever its size.
func TestRunsListLastFullPageHasNoCursor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	for i := range 2 {
		if code, _ := h.submit(detectionJSON(fmt.Sprintf("page-%d", i), 4, `,"unmapped":{"gate":true}`)); code != 202 {
			t.Fatalf("submit: %d", code)
		}
	}
	// Both listed (visibility follows the histories); each detection
	// also starts an e2e-contain run, so the listing is of e2e-gated's.
	h.eventually(t, func() string {
		if runs := h.listRuns(t, "playbook=e2e-gated&limit=10"); len(runs) != 2 {
			return fmt.Sprintf("%d e2e-gated runs listed, want 2", len(runs))
		}
		return ""
	})
	code, b := h.do("GET", "/v1/runs?playbook=e2e-gated&limit=2", h.token, "")
	var page struct {
		Runs       []json.RawMessage `json:"runs"`
		NextCursor string            `json:"next_cursor"`
	}
	if code != 200 || json.Unmarshal(b, &page) != nil || len(page.Runs) != 2 {
		t.Fatalf("GET /v1/runs?limit=2: %d %s", code, b)
	}
	if page.NextCursor != "" {
		_, next := h.do("GET", "/v1/runs?playbook=e2e-gated&limit=2&cursor="+url.QueryEscape(page.NextCursor), h.token, "")
		t.Errorf("GET /v1/runs?limit=2 with exactly 2 runs: next_cursor %q, whose page is %s", page.NextCursor, next)
	}
	rc, out, errOut := runCLI(t, "runs", "list", "--playbook", "e2e-gated", "--limit", "2", "--api", h.baseURL, "--token", h.token)
	if rc != 0 || strings.Contains(out, "more runs") {
		t.Errorf("riposte runs list --limit 2 with exactly 2 runs: exit %d, says there are more:\n%s%s", rc, out, errOut)
	}
}
