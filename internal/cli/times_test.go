package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// riposte runs show printed a vote's time, a finding update's and a
// withdrawal's as 15:04:05 alone: a gate open for days (a hold extended
// by 2d, an escalation) showed a vote of Monday and one of Wednesday
// alike, and no time said its zone while the hold line did ("… MST").
// Every time runs show and runs list print has its date and zone.
func TestRunsShowTimesHaveDateAndZone(t *testing.T) {
	at := time.Now().Add(-72 * time.Hour)
	stamp := at.Local().Format("2006-01-02 15:04:05 MST")
	d := &api.RunDetail{
		RunSummary:     api.RunSummary{WorkflowID: "pb:x", Status: "running", StartedAt: at},
		FindingChanges: []workflows.FindingChange{{At: at, Severity: "High", State: "active"}},
		Withdrawn:      &workflows.Withdrawal{Reason: "closed by the producer", At: at},
		Steps: []workflows.StepResult{{ID: "isolate", Status: "waiting_approval", Gate: &workflows.Gate{
			State: workflows.GatePending, Quorum: 2,
			Votes:   []workflows.Decision{{User: "U0SOCLEAD2", Approve: true, Via: workflows.ViaAPI, At: at}},
			Refused: []workflows.RefusedDecision{{User: "UMALLORY", Verified: true, Approve: true, Via: workflows.ViaAPI, Refusal: "not an approver", At: at}},
		}}},
	}
	var b bytes.Buffer
	printRun(&b, d)
	for _, want := range []string{"approved by U0SOCLEAD2 via api at " + stamp, "refused: approve by UMALLORY via api at " + stamp,
		"updated at " + stamp, "withdrawn: closed by the producer at " + stamp} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("runs show lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	printRuns(&b, []api.RunSummary{d.RunSummary})
	if !strings.Contains(b.String(), stamp) {
		t.Errorf("runs list lacks %q:\n%s", stamp, b.String())
	}
}
