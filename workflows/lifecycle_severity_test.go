package workflows_test

import (
	"testing"
	"time"

	"github.com/riposte-dev/riposte/workflows"
)

// A later record that raises confidence a little but lowers severity from
// Critical to Low replaces the whole view: the run now reads severity Low
// (severity_id 2) for every expression evaluated from then on, and the
// history says "the run's view is raised".
func TestUpdateKeepsSeverityRaisesConfidence(t *testing.T) {
	view := map[string]any{"state": "active", "severity": "Critical", "severity_id": 5.0, "confidence": 80.0}
	up := workflows.FindingUpdate{Finding: map[string]any{"state": "active", "severity": "Low", "severity_id": 2.0, "confidence": 81.0}}
	h, c := updateHarness(t)
	det := map[string]any{"severity_id": 5, "confidence_score": 80, "device": map[string]any{"hostname": "h"}}
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(up)) }, 5*time.Minute)
	var d string
	h.vote(20*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "U1"}, &d)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, Finding: view})
	res, err := resultOf(h)
	if err != nil || d != "" {
		t.Fatalf("run: %v %s", err, d)
	}
	if res.Finding == nil || res.Finding["severity"] != "Critical" || res.Finding["confidence"] != 81.0 {
		t.Errorf("an update with confidence 81 and severity Low: view severity %v (severity_id %v), want Critical with confidence 81; changes %+v",
			res.Finding["severity"], res.Finding["severity_id"], res.FindingChanges)
	}
}
