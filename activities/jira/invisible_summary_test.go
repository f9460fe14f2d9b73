package jira_test

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/connectortest"
)

// Jira requires a summary: an empty one is 400 {"errors":{"summary":"You
// must specify a summary of the issue."}} (POST /rest/api/3/issue; the
// fake answers so) and no ticket is created, without retry. The connector
// drops control, bidi and invisible characters from the summary (detection
// text, untrusted); one made only of them was emptied after the
// blank-param check and sent, so the incident's ticket was lost to the
// 400. The ticket must still be created.
func TestCreateIssueWithOnlyInvisibleSummaryStillCreates(t *testing.T) {
	h := connectortest.New(t)
	out, err := h.Run("jira.create_issue", map[string]any{"project": "SEC", "summary": "\u200b\u202e\u0007", "description": "ransomware on fin-ws-042"}, "k1")
	if err != nil {
		t.Fatalf("no ticket: %v", err)
	}
	if out["key"] == "" || out["key"] == nil {
		t.Errorf("out = %v", out)
	}
}
