package slackapp

import (
	"strings"
	"testing"

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
