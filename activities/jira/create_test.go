package jira_test

import (
	"github.com/riposte-dev/riposte/activities/jira"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// The 201 of the first attempt is lost, and search does not show the new
// issue yet (Jira Cloud's search is eventually consistent). The retry must
// find the issue anyway and not open a second one.
func TestLostAnswerUnderStaleSearchCreatesOnce(t *testing.T) {
	h := connectortest.New(t)
	lab.Fake[*jira.Fake](h.Lab).SetIndexLag(time.Hour)
	h.MustRun("jira.create_issue", map[string]any{"summary": "an older issue"}, "other-step")
	h.Lab.InjectFault(lab.Jira, lab.Fault{Status: 502, Lost: true})
	out, err := h.RunWithRetries("jira.create_issue", map[string]any{"summary": "lost answer"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if out["already"] != true || out["key"] != "SEC-2" {
		t.Errorf("output = %v", out)
	}
	if n := h.Lab.Changes(lab.Jira, "create_issue", ""); n != 2 {
		t.Errorf("issues created = %d, want 2 (one per step)", n)
	}
}

// The same step run again (a reset workflow) while search is stale.
func TestRepeatUnderStaleSearchCreatesOnce(t *testing.T) {
	h := connectortest.New(t)
	lab.Fake[*jira.Fake](h.Lab).SetIndexLag(time.Hour)
	first := h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-a")
	again := h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-a")
	if again["already"] != true || again["key"] != first["key"] {
		t.Errorf("first %v, again %v", first, again)
	}
	other := h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-b")
	if other["already"] != false || other["key"] == first["key"] {
		t.Errorf("another step got %v", other)
	}
	if n := h.Lab.Changes(lab.Jira, "create_issue", ""); n != 2 {
		t.Errorf("issues created = %d, want 2", n)
	}
}
