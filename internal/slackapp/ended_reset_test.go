package slackapp

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/workflows"
	"github.com/slack-go/slack"
)

// A message a reset left behind says the run was reset and a new request
// replaces it, not that the run was terminated, and has no buttons.
func TestEndedBlocksReset(t *testing.T) {
	blocks, _, _ := EndedBlocks(approvals.EndedGate{Ended: approvals.EndedReset,
		Request: workflows.GateRequest{GateID: "g1", StepID: "a", Action: "edr.contain_host"}})
	var text strings.Builder
	for _, b := range blocks {
		if b.BlockType() == slack.MBTAction {
			t.Errorf("a closed message has buttons")
		}
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
			text.WriteString(s.Text.Text)
		}
	}
	if got := text.String(); !strings.Contains(got, "the run was reset") || strings.Contains(got, "terminated") {
		t.Errorf("closed text: %q", got)
	}
}

// The message of a run Temporal ended while it held the step's containment
// says it was not released and stays, and how to undo it; not when the
// hold is released, nor how to extend it.
func TestEndedBlocksHolding(t *testing.T) {
	until := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, ended := range []string{approvals.EndedTerminated, approvals.EndedTimedOut} {
		blocks, _, _ := EndedBlocks(approvals.EndedGate{Ended: ended, WorkflowID: "pb:x.det-1.abc", EndedAt: until.Add(-time.Hour),
			Request: workflows.GateRequest{GateID: "block", StepID: "block", Action: "panos.block_ip"},
			Gate:    workflows.Gate{ID: "block", State: workflows.GateApproved, Votes: []workflows.Decision{{GateID: "block", Approve: true, User: "UAPPROVER"}}},
			Run: &workflows.GateRunState{Status: workflows.RunHolding, RunID: "pb:x.det-1.abc",
				Hold: &workflows.Hold{Step: "block", Undo: "panos.unblock_ip", Until: until, Extensions: []string{"extend block by 4h"}}}})
		var text strings.Builder
		for _, b := range blocks {
			if b.BlockType() == slack.MBTAction {
				t.Errorf("%s: the message has buttons", ended)
			}
			if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
				text.WriteString(s.Text.Text + "\n")
			}
		}
		got := text.String()
		how := map[string]string{approvals.EndedTerminated: "the run was terminated", approvals.EndedTimedOut: "the run timed out"}[ended]
		for _, want := range []string{"*Approved* by <@UAPPROVER>", how, "not released and stays in place", "`riposte rollback pb:x.det-1.abc`"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: %q, want %q", ended, got, want)
			}
		}
		for _, not := range []string{"*Holding*", "unless extended", "riposte extend"} {
			if strings.Contains(got, not) {
				t.Errorf("%s: %q says %q", ended, got, not)
			}
		}
	}
}

// A run that ended with its step's hold not released (cancelled while it
// held: the run notes "not released: the run was cancelled") leaves the
// containment in place; its message said "Holding: block is released at
// T, unless extended" above "Run ended", with the command to extend a
// hold of a run that can take no extension.
func TestDecidedRunBlocksEndedUnreleasedHold(t *testing.T) {
	until := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ended := until.Add(-time.Hour)
	blocks, _, _ := DecidedRunBlocks(workflows.GateRequest{GateID: "block", StepID: "block", Action: "panos.block_ip"},
		workflows.Gate{ID: "block", State: workflows.GateApproved, Votes: []workflows.Decision{{GateID: "block", Approve: true, User: "UAPPROVER"}}},
		&workflows.GateRunState{Status: workflows.RunSucceeded, Outcome: "contained", EndedAt: &ended, RunID: "pb:x.det-1.abc",
			Hold: &workflows.Hold{Step: "block", Undo: "panos.unblock_ip", Until: until,
				Extensions: []string{"not released: the run was cancelled; containment stays in place (riposte rollback undoes it)"}}})
	var text strings.Builder
	for _, b := range blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
			text.WriteString(s.Text.Text + "\n")
		}
	}
	got := text.String()
	for _, not := range []string{"*Holding*", "unless extended", "riposte extend"} {
		if strings.Contains(got, not) {
			t.Errorf("%q says %q", got, not)
		}
	}
	for _, want := range []string{"not released", "stays in place", "`riposte rollback pb:x.det-1.abc`", "*Run ended*: contained"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

// After riposte rollback undid it, the message of a run Temporal ended
// while it held says so, not that the containment stays in place.
func TestEndedBlocksHoldingRolledBack(t *testing.T) {
	until := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for status, want := range map[string]string{"completed": "*Rolled back*", "running": "being rolled back", "failed": "may still be in place"} {
		blocks, _, _ := EndedBlocks(approvals.EndedGate{Ended: approvals.EndedTerminated, WorkflowID: "wf-1", EndedAt: until.Add(-time.Hour),
			Request:    workflows.GateRequest{GateID: "block", StepID: "block", Action: "panos.block_ip"},
			Gate:       workflows.Gate{ID: "block", State: workflows.GateApproved},
			Run:        &workflows.GateRunState{Status: workflows.RunHolding, Hold: &workflows.Hold{Step: "block", Undo: "panos.unblock_ip", Until: until}},
			RolledBack: &approvals.Rollback{ID: "rollback:wf-1", Status: status, At: until.Add(-time.Minute)}})
		var text strings.Builder
		for _, b := range blocks {
			if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
				text.WriteString(s.Text.Text + "\n")
			}
		}
		got := text.String()
		if !strings.Contains(got, want) || !strings.Contains(got, "`rollback:wf-1`") || strings.Contains(got, "stays in place") || strings.Contains(got, "undo it") {
			t.Errorf("rollback %s: %q, want %q", status, got, want)
		}
	}
}

// A run that a reset of another run terminated (the withdrawn run it
// continues was reset) is no reset's base: nothing carries its messages
// or holds on. Its holding message says how it ended and names the
// rollback of this run (the workflow's rollback is the reset's run's);
// a pending one is not said to be replaced by a new request.
func TestEndedBlocksTerminatedByResetOfAnotherRun(t *testing.T) {
	until := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	text := func(g approvals.EndedGate) string {
		blocks, _, _ := EndedBlocks(g)
		var text strings.Builder
		for _, b := range blocks {
			if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
				text.WriteString(s.Text.Text + "\n")
			}
		}
		return text.String()
	}
	got := text(approvals.EndedGate{Ended: approvals.EndedTerminated, ResetOfAnother: true, WorkflowID: "pb:x.det-1.abc", RunID: "run-b", EndedAt: until.Add(-time.Hour),
		Request: workflows.GateRequest{GateID: "block", StepID: "block", Action: "panos.block_ip"},
		Gate:    workflows.Gate{ID: "block", State: workflows.GateApproved},
		Run:     &workflows.GateRunState{Status: workflows.RunHolding, Hold: &workflows.Hold{Step: "block", Undo: "panos.unblock_ip", Until: until}}})
	for _, want := range []string{"terminated by a reset of another run", "not released and stays in place", "`riposte rollback pb:x.det-1.abc --run-id run-b`"} {
		if !strings.Contains(got, want) {
			t.Errorf("holding: %q, want %q", got, want)
		}
	}
	got = text(approvals.EndedGate{Ended: approvals.EndedTerminated, ResetOfAnother: true, WorkflowID: "pb:x.det-1.abc", RunID: "run-b",
		Request: workflows.GateRequest{GateID: "g1", StepID: "a", Action: "edr.contain_host"}})
	if !strings.Contains(got, "terminated by a reset of another run") || strings.Contains(got, "replaces") {
		t.Errorf("pending: %q, want it terminated by a reset of another run, not replaced", got)
	}
}
