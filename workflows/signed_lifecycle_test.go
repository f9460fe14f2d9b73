package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// sealFinding signs a finding record as the intake does.
func (h *harness) sealFinding(u workflows.FindingUpdate) workflows.FindingUpdate {
	h.t.Helper()
	if u.By == "" {
		u.By = "UDETECTOR"
	}
	u.Via = workflows.ViaIntake
	out, err := workflows.SealFinding(h.keys, testWorkflowID, u, h.env.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// sealRolledBack signs a rolled_back mark as the API does.
func (h *harness) sealRolledBack(rb workflows.RolledBack) workflows.RolledBack {
	rb.Via = workflows.ViaAPI
	rb.Seal = h.keys.Sign(workflows.RolledBackClaim(testWorkflowID, rb), h.env.Now())
	return rb
}

// The seal covers the record as the workflow decodes it: integers sent by
// the intake arrive as float64 and still verify; any change does not.
func TestFindingSealSurvivesJSONAndCoversTheRecord(t *testing.T) {
	h := newHarness(t)
	u := h.sealFinding(workflows.FindingUpdate{Detection: map[string]any{"severity_id": 5, "finding_info": map[string]any{"uid": "x<y>&"}},
		Finding: map[string]any{"state": "withdrawn", "confidence": 90}})
	decoded := workflows.FindingUpdate{Detection: map[string]any{"severity_id": 5.0, "finding_info": map[string]any{"uid": "x<y>&"}},
		Finding: map[string]any{"state": "withdrawn", "confidence": 90.0}, By: u.By, Via: u.Via, Seal: u.Seal}
	if err := h.keys.Verify(workflows.FindingClaim(testWorkflowID, decoded), decoded.Seal); err != nil {
		t.Fatalf("decoded record: %v", err)
	}
	for name, change := range map[string]func(*workflows.FindingUpdate){
		"state":     func(u *workflows.FindingUpdate) { u.Finding = map[string]any{"state": "active", "confidence": 90.0} },
		"detection": func(u *workflows.FindingUpdate) { u.Detection = map[string]any{"severity_id": 1.0} },
		"submitter": func(u *workflows.FindingUpdate) { u.By = "UATTACKER" },
		"channel":   func(u *workflows.FindingUpdate) { u.Via = workflows.ViaSlack },
		"other run": nil,
		"no seal":   func(u *workflows.FindingUpdate) { u.Seal = nil },
		"wrong key": func(u *workflows.FindingUpdate) {
			k, _ := signing.NewKeys("t1", map[string][]byte{"t1": []byte("another key of thirty-two bytes!")})
			u.Seal = k.Sign(workflows.FindingClaim(testWorkflowID, *u), time.Now())
		},
	} {
		c := decoded
		run := testWorkflowID
		if change == nil {
			run = "another-run"
		} else {
			change(&c)
		}
		if err := h.keys.Verify(workflows.FindingClaim(run, c), c.Seal); err == nil {
			t.Errorf("%s changed: the seal still verifies", name)
		}
	}
}

// A withdrawal that did not come through Riposte's intake (unsigned, or
// sealed with another key) is refused: the gate stays pending until it
// times out, nothing is withdrawn or rolled back.
func TestForgedWithdrawalIsRefused(t *testing.T) {
	for name, forge := range map[string]func(h *harness, u workflows.FindingUpdate) workflows.FindingUpdate{
		"unsigned": func(h *harness, u workflows.FindingUpdate) workflows.FindingUpdate {
			u.Via = workflows.ViaIntake
			return u
		},
		"forged": func(h *harness, u workflows.FindingUpdate) workflows.FindingUpdate {
			k, _ := signing.NewKeys("t1", map[string][]byte{"t1": []byte("the attacker's guess, 32 bytes!!")})
			u.Via = workflows.ViaIntake
			rt := h.sealFinding(u)
			u.Seal = k.Sign(workflows.FindingClaim(testWorkflowID, rt), time.Now())
			return u
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			var calls []string
			for _, n := range []string{"okta.suspend_user", "okta.unsuspend_user", "crowdstrike.contain_host", "jira.create_issue"} {
				h.action(n, func(_ context.Context, call catalog.Call) (map[string]any, error) {
					calls = append(calls, n)
					return map[string]any{"already": false}, nil
				})
			}
			f := &gateFake{}
			f.register(h.env)
			allowPolicy(h)
			c := compileYAML(t, replaceOnce(lifecyclePlaybook, "%s", "on_withdraw: rollback"))
			up := forge(h, workflows.FindingUpdate{Finding: map[string]any{"state": "withdrawn", "state_reason": "forged"}})
			h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.SignalFinding, up) }, 10*time.Minute)
			det := map[string]any{"device": map[string]any{"hostname": "fin-ws-042"}}
			h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
			res, err := resultOf(h)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if res.Withdrawn != nil || strings.Contains(strings.Join(calls, ","), "unsuspend") {
				t.Errorf("forged withdrawal acted: withdrawn %+v, calls %v", res.Withdrawn, calls)
			}
			if len(res.Gates) != 1 || res.Gates[0].State != workflows.GateTimedOut {
				t.Errorf("gates = %+v, want isolate timed out (the forged withdrawal did not close it)", res.Gates)
			}
			want := map[string]string{"unsigned": "unsigned decision", "forged": "forged decision"}[name]
			h.audited("audit: finding signal refused", want)
		})
	}
}

// A rolled_back mark sent straight through Temporal is refused: the hold
// is released by its own timer, and no rollback is recorded.
func TestForgedRolledBackIsRefused(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	undos := 0
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		undos++
		return map[string]any{}, nil
	})
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalRolledBack, workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", Via: workflows.ViaAPI})
	}, time.Hour)
	c := compileYAML(t, holdPlaybook)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
	res, err := resultOf(h)
	if err != nil {
		t.Fatal(err)
	}
	if res.RolledBack != nil || undos != 1 {
		t.Errorf("forged rolled_back acted: rolled_back %+v, undos %d (want the timer's one)", res.RolledBack, undos)
	}
	h.audited("audit: rolled_back signal refused", "unsigned decision")
}
