package workflows_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// twoGatePlaybook: a first gate, then a containment whose target is read
// from the run's finding view when its own gate opens.
const twoGatePlaybook = `apiVersion: riposte/v1
name: twogates
version: 1
trigger: {when: "true"}
steps:
  - id: triage
    action: jira.create_issue
    with: {summary: "triage"}
    approval:
      approvers: {users: [UCAROL]}
      timeout: 1h
  - id: isolate
    action: crowdstrike.contain_host
    needs: [triage]
    with: {hostname: "${{ primary_host(finding) }}"}
    approval:
      approvers: {users: [UALICE, UCAROL]}
      timeout: 1h
`

// Four-eyes (README: the submitter of a detection may not approve the
// run's gates) covers only the record that started the run. A later record
// of the same finding, submitted by someone else, replaces the run's view
// when it raises severity or confidence, and so chooses the target of every
// gate opened after it; its submitter (FindingUpdate.By, the intake
// token's identity) may then approve that containment alone. Here UBOB's
// detection starts the run, UALICE sends an update naming prod-db-01, and
// UALICE approves isolating prod-db-01: the action she supplied the target
// of, approved by herself.
func TestUpdateSubmitterCannotApproveWhatTheirRecordTargets(t *testing.T) {
	var self string
	_, contained := submitterRun(t, func(h *harness) {
		h.vote(15*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UALICE"}, &self)
	})
	if self == "" || len(contained) != 0 {
		t.Errorf("UALICE, who submitted the record naming the target, approved its containment alone (vote refusal %q; hosts contained %v)", self, contained)
	}
}

// The same vote sent as a decide signal (Prefer: respond-async, or no
// worker up) is refused too, and the gate keeps why; the change records
// who sent the record.
func TestUpdateSubmitterSignalledVoteRefused(t *testing.T) {
	res, contained := submitterRun(t, func(h *harness) {
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalDecide, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UALICE"}))
		}, 15*time.Minute)
	})
	g := res.Gates[1]
	if len(contained) != 0 || g.State == workflows.GateApproved || len(g.Refused) != 1 || !strings.Contains(g.Refused[0].Refusal, "cannot decide it") {
		t.Errorf("contained %v, gate %s, refused %+v: UALICE's signalled vote on the target her record chose", contained, g.State, g.Refused)
	}
	if len(res.FindingChanges) != 1 || res.FindingChanges[0].By != "UALICE" || len(g.Submitters) != 1 {
		t.Errorf("changes %+v, gate submitters %v; want the change and the gate to name UALICE", res.FindingChanges, g.Submitters)
	}
}

// submitterRun runs twoGatePlaybook for UBOB's detection: at 5m UALICE's
// record raises the view and names prod-db-01, at 10m UCAROL approves the
// triage gate, then vote adds UALICE's vote on the isolate gate. It returns
// the result and the hosts contained.
func submitterRun(t *testing.T, vote func(h *harness)) (*workflows.Result, []any) {
	t.Helper()
	h := newHarness(t)
	var mu sync.Mutex
	var contained []any
	h.action("jira.create_issue", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("crowdstrike.contain_host", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		contained = append(contained, call.Params["hostname"])
		return map[string]any{}, nil
	})
	f := &gateFake{}
	f.register(h.env)
	allowPolicy(h)
	c := compileYAML(t, twoGatePlaybook)
	view := map[string]any{"state": "active", "severity": "Medium", "confidence": 50.0,
		"hosts": []any{map[string]any{"value": "fin-ws-042", "source": "device.hostname"}}}
	up := workflows.FindingUpdate{By: "UALICE", Finding: map[string]any{"state": "active", "severity": "Critical", "confidence": 95.0,
		"hosts": []any{map[string]any{"value": "prod-db-01", "source": "device.hostname"}}}}
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(up)) }, 5*time.Minute)
	var triage string
	h.vote(10*time.Minute, workflows.Decision{GateID: "triage", Approve: true, User: "UCAROL"}, &triage)
	vote(h)
	det := map[string]any{"severity_id": 3, "confidence_score": 50, "device": map[string]any{"hostname": "fin-ws-042"}}
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, Finding: view, Requester: "UBOB"})
	res, err := resultOf(h)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if triage != "" {
		t.Fatalf("triage vote refused: %s", triage)
	}
	mu.Lock()
	defer mu.Unlock()
	return res, contained
}
