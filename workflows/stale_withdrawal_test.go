package workflows_test

import (
	"testing"
	"time"

	"github.com/riposte-dev/riposte/workflows"
)

// A withdrawing record older than an active record the run had (the one
// it started with, or an update it was sent) withdrew the run all the
// same. Queues deliver at least once and out of order: a Close delivered
// again after its finding was reopened (the reopening record started this
// run) closed the gates of the reopened finding's response and stopped
// its containment. It is ignored now; an untimed or later Close still
// withdraws.
func TestStaleWithdrawalIsIgnored(t *testing.T) {
	const t0 = int64(1763458937000)
	rec := func(at int64) map[string]any {
		return map[string]any{"time": at, "finding_info": map[string]any{"uid": "f-1"}}
	}
	closeAt := func(at int64) workflows.FindingUpdate {
		u := withdrawal
		if at != 0 {
			u.Detection = rec(at)
		}
		return u
	}
	update := workflows.FindingUpdate{Detection: rec(t0 + 120_000), Finding: map[string]any{"state": "active", "severity": "High", "confidence": 80}}
	for _, tc := range []struct {
		name      string
		started   int64
		updates   []workflows.FindingUpdate
		withdrawn bool
	}{
		{"a Close older than the record the run started with", t0 + 60_000, []workflows.FindingUpdate{closeAt(t0)}, false},
		{"a Close older than an update the run was sent", t0, []workflows.FindingUpdate{update, closeAt(t0 + 60_000)}, false},
		{"a later Close", t0, []workflows.FindingUpdate{closeAt(t0 + 60_000)}, true},
		{"a Close as late as the run's record", t0, []workflows.FindingUpdate{closeAt(t0)}, true},
		{"a Close without a time", t0 + 60_000, []workflows.FindingUpdate{closeAt(0)}, true},
		{"a run started with an untimed record", 0, []workflows.FindingUpdate{closeAt(t0)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.record(map[string]any{"already": false}, "okta.suspend_user", "okta.unsuspend_user", "crowdstrike.contain_host", "jira.create_issue")
			f := &gateFake{}
			f.register(h.env)
			allowPolicy(h)
			c := compileYAML(t, replaceOnce(lifecyclePlaybook, "%s", ""))
			det := map[string]any{"actor": map[string]any{"user": map[string]any{"email_addr": "j.doe@example.com"}}, "device": map[string]any{"hostname": "fin-ws-042"},
				"finding_info": map[string]any{"uid": "f-1"}}
			if tc.started != 0 {
				det["time"] = tc.started
			}
			for i, u := range tc.updates {
				h.env.RegisterDelayedCallback(func() {
					h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(u))
				}, time.Duration(10+i)*time.Minute)
			}
			h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
			if !h.env.IsWorkflowCompleted() {
				t.Fatal("workflow did not complete")
			}
			res, err := resultOf(h)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			gate := stepOf(res, "isolate").Gate
			if tc.withdrawn {
				if res.Withdrawn == nil || res.Outcome != workflows.OutcomeWithdrawn || gate == nil || gate.State != workflows.GateWithdrawn {
					t.Errorf("outcome %s, withdrawn %+v, gate %+v; want withdrawn", res.Outcome, res.Withdrawn, gate)
				}
				return
			}
			if res.Withdrawn != nil || res.Outcome == workflows.OutcomeWithdrawn || gate == nil || gate.State == workflows.GateWithdrawn {
				t.Errorf("outcome %s, withdrawn %+v, gate %+v; want the stale Close ignored", res.Outcome, res.Withdrawn, gate)
			}
		})
	}
}
