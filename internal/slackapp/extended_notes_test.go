package slackapp

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/workflows"
)

// A hold's Extensions hold the run's notes on it, not only extensions: a
// later step that undid one target of a for_each hold notes "one target
// released early by step S (target N; the others stay held)", and the
// hold stays active for the others (workflows/hold.go). The message said
// "(extended 1 time(s))" for it, though nobody extended the containment:
// an approver reads that someone kept the block longer. Only extensions
// ("4h0m0s by U… at …") are counted as such.
func TestHoldingMessageCountsOnlyExtensions(t *testing.T) {
	req := testRequest()
	gate := testGate(req)
	d := workflows.Decision{GateID: "isolate", Approve: true, User: "U024BE7LH", Via: workflows.ViaSlack, At: testClosed}
	gate.State, gate.Decision, gate.ClosedAt = workflows.GateApproved, &d, &testClosed
	until := testClosed.Add(4 * time.Hour)
	for _, c := range []struct {
		notes []string
		want  string
	}{
		{[]string{"one target released early by step unblock (target 1; the others stay held)"}, ""},
		{[]string{"one target released early by step unblock (target 1; the others stay held)", "4h0m0s by U024BE7LH at 2026-12-06T10:00:00Z"}, "(extended 1 time(s))"},
		{[]string{"2h0m0s by U024BE7LH at 2026-12-06T10:00:00Z", "4h0m0s by U024BE7LH at 2026-12-06T11:00:00Z"}, "(extended 2 time(s))"},
	} {
		run := &workflows.GateRunState{Status: workflows.RunHolding, RunID: "r1",
			Hold: &workflows.Hold{Step: "isolate", Undo: "panos.unblock_ip", Until: until, Extensions: c.notes}}
		blocks, _, _ := DecidedRunBlocks(req, gate, run)
		var holding string
		for _, o := range textObjects(t, blocks) {
			if text, _ := o["text"].(string); strings.Contains(text, "*Holding*") {
				holding = text
			}
		}
		if holding == "" {
			t.Fatalf("no holding line in the message for notes %q", c.notes)
		}
		got := regexp.MustCompile(`\(extended \d+ time\(s\)\)`).FindString(holding)
		if got != c.want {
			t.Errorf("notes %q: the message says %q, want %q: %s", c.notes, got, c.want, holding)
		}
	}
}
