package pagerduty_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/connectortest"
)

// PagerDuty requires payload.summary and payload.source and answers an
// empty one with 400 "Event object is invalid" / "'payload.source' is
// missing or blank" (developer.pagerduty.com/docs/events-api-v2/trigger-events;
// the fake does the same): no alert, and the step is not retried. The
// connector drops control, bidi and invisible characters from both, which
// playbooks fill with detection text; a value made only of them (a
// detection whose host name is "\u200b", untrusted text) became empty
// after the check for a blank param, so the page was lost to PagerDuty's
// 400. The page must still go out: the documented default source
// (riposte), and a summary saying what happened to it.
func TestTriggerWithOnlyInvisibleTextStillPages(t *testing.T) {
	h := connectortest.New(t)
	if _, err := h.Run("pagerduty.trigger", map[string]any{"summary": "ransomware on a host", "source": "\u200b\u202e"}, "k1"); err != nil {
		t.Errorf("invisible-only source: the page was not sent: %v", err)
	}
	if _, err := h.Run("pagerduty.trigger", map[string]any{"summary": "\u200b\u2066\u0007", "source": "fin-ws-042"}, "k2"); err != nil {
		t.Errorf("invisible-only summary: the page was not sent: %v", err)
	}
	pages := h.Lab.State().Pages
	if len(pages) != 2 {
		t.Fatalf("pages = %d, want 2", len(pages))
	}
	for _, p := range pages {
		if strings.TrimSpace(p.Source) == "" || strings.TrimSpace(p.Summary) == "" {
			t.Errorf("page sent with source %q, summary %q", p.Source, p.Summary)
		}
	}
}
