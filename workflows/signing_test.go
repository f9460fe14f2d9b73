package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// Decisions that did not come through Riposte (no seal, a seal made with
// another key, a sealed decision altered on the way, an internal channel)
// are refused by the Update validator and ignored on the signal path; the
// gate stays pending and times out.
func TestUnsealedDecisionsRefused(t *testing.T) {
	h, _ := newGateHarness(t, 1, "deny", "")
	other, _ := signing.NewKeys("t1", map[string][]byte{"t1": []byte("an attacker's guess at the key!!")})
	forgedKey := workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB", Via: workflows.ViaSlack}
	forgedKey.Seal = other.Sign(workflows.DecisionClaim(testWorkflowID, forgedKey), time.Unix(1700000000, 0))
	altered := h.seal(workflows.Decision{GateID: "isolate", Approve: false, User: "UBOB"})
	altered.Approve = true
	internal := workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB", Via: workflows.ViaTimeout}
	internal.Seal = h.keys.Sign(workflows.DecisionClaim(testWorkflowID, internal), h.env.Now())
	var unsigned, wrongKey, changed, channel string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB", Via: "unsigned"}, &unsigned)
	h.vote(2*time.Minute, forgedKey, &wrongKey)
	h.vote(3*time.Minute, altered, &changed)
	h.vote(4*time.Minute, internal, &channel)
	// The frontend HTTP API / tctl path: a raw signal claiming Slack.
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalDecide, workflows.Decision{GateID: "isolate", Approve: true, User: "U0INFRA001", Via: workflows.ViaSlack})
		h.env.SignalWorkflow(workflows.SignalDecide, forgedKey)
	}, 5*time.Minute)
	res := runGate(t, h, 1, "deny", "", "")
	for name, got := range map[string]string{"unsigned": unsigned, "wrong key": wrongKey, "altered": changed} {
		if !strings.Contains(got, "decision") || !(strings.Contains(got, "unsigned") || strings.Contains(got, "forged")) {
			t.Errorf("%s update: want refusal, got %q", name, got)
		}
	}
	if !strings.Contains(channel, "must arrive through Slack or the API") {
		t.Errorf("internal channel: %q", channel)
	}
	wantStatuses(t, res, map[string]string{"isolate": "timed_out"})
	if g := res.Gates[0]; len(g.Votes) != 0 {
		t.Errorf("votes recorded: %+v", g.Votes)
	}
	// The two refused signals are kept on the gate, their users marked as
	// not verified: a raw signal's user is only a name it carries.
	if r := res.Gates[0].Refused; len(r) != 2 || r[0].User != "U0INFRA001" || r[0].Verified || r[1].Verified ||
		!strings.Contains(r[0].Refusal, "unsigned decision") || !strings.Contains(r[1].Refusal, "forged decision") {
		t.Errorf("refused: %+v", r)
	}
	// Each refusal is audited once, with its reason.
	h.audited("audit: decision update refused", "unsigned decision", "forged decision", "forged decision", "must arrive through Slack or the API")
	h.audited("audit: decision signal refused", "unsigned decision", "forged decision")
}

// Four-eyes compares normalized identities: the requester cannot approve
// as "U0ATTACKER" + zero-width space, full-width or lower case.
func TestSelfApprovalLookalikes(t *testing.T) {
	h, _ := newGateHarness(t, 1, "deny", "")
	var zw, fw, lc string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UALICE\u200b"}, &zw)
	h.vote(2*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "ＵＡＬＩＣＥ"}, &fw)
	h.vote(3*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "ualice"}, &lc)
	res := runGate(t, h, 1, "deny", "", "UALICE")
	for _, got := range []string{zw, fw, lc} {
		if !strings.Contains(got, "requested this action and cannot approve it") {
			t.Errorf("look-alike self-approval: %q", got)
		}
	}
	wantStatuses(t, res, map[string]string{"isolate": "timed_out"})
	cannot := "requested this action and cannot approve it"
	h.audited("audit: decision update refused", cannot, cannot, cannot)
}

func TestUnsealedExtendAndRollbackRefused(t *testing.T) {
	t.Run("extend", func(t *testing.T) {
		h, _, _ := policyHarness(t, func(workflows.PolicyCheck) policy.Decision { return policy.Decision{Decision: policy.Allow} })
		var errs []string
		h.env.RegisterDelayedCallback(func() {
			h.env.UpdateWorkflow(workflows.UpdateExtend, "x1", &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { errs = append(errs, err.Error()) }, OnComplete: func(any, error) {},
			}, workflows.ExtendRequest{Step: "isolate", By: 1e9, User: "USOC", Via: workflows.ViaAPI})
		}, time.Minute)
		res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto\n    contain_for: 4h", 1)), det)
		if err != nil || len(res.Holds) != 1 || len(res.Holds[0].Extensions) != 0 {
			t.Fatalf("run: %v, holds %+v", err, res.Holds)
		}
		if len(errs) != 1 || !strings.Contains(errs[0], "unsigned decision") {
			t.Errorf("unsigned extend: %v", errs)
		}
		h.audited("audit: extend update refused", "unsigned decision")
	})
	t.Run("rollback", func(t *testing.T) {
		h := newHarness(t)
		v := &vendorFake{}
		v.register(h.env, "crowdstrike.lift_containment")
		h.env.ExecuteWorkflow(workflows.RollbackWorkflow, workflows.RollbackInput{WorkflowID: "w1", Requester: "U0ATTACKER", Via: workflows.ViaAPI,
			Undo: []workflows.UndoCall{{Step: "isolate", Action: "crowdstrike.contain_host", Undo: "crowdstrike.lift_containment", Params: map[string]any{"hostname": "h1"}}}})
		err := h.env.GetWorkflowError()
		if err == nil || !strings.Contains(err.Error(), "rollback refused: unsigned decision") || len(v.calls) != 0 {
			t.Errorf("unsigned rollback: err %v, %d undo calls", err, len(v.calls))
		}
		h.audited("audit: rollback workflow refused", "unsigned decision")
	})
	// A sealed rollback copied from an old history and started again is
	// refused: its seal is not fresh at the rollback's start. Histories
	// recorded before the check ran it.
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("stale rollback legacy=%v", legacy), func(t *testing.T) {
			h := newHarness(t)
			v := &vendorFake{}
			v.register(h.env, "crowdstrike.lift_containment")
			if legacy {
				h.env.OnGetVersion("sec-rollback-fresh", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			in := workflows.RollbackInput{WorkflowID: "w1", Requester: "USOC", Via: workflows.ViaAPI,
				Undo: []workflows.UndoCall{{Step: "isolate", Action: "crowdstrike.contain_host", Undo: "crowdstrike.lift_containment", Params: map[string]any{"hostname": "h1"}}}}
			in = sealRollback(t, h, in, h.env.Now().Add(-time.Hour))
			h.env.ExecuteWorkflow(workflows.RollbackWorkflow, in)
			err := h.env.GetWorkflowError()
			if legacy {
				if err != nil || len(v.calls) != 1 {
					t.Errorf("before the check: err %v, %d undo calls", err, len(v.calls))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "rollback refused: stale signed request") || len(v.calls) != 0 {
				t.Errorf("stale rollback: err %v, %d undo calls", err, len(v.calls))
			}
			h.audited("audit: rollback workflow refused", "stale signed request")
		})
	}
}

// A safe-mode switch sent straight through Temporal (no seal, or sealed
// with a guessed key) is refused by the guard's validator and audited.
func TestUnsealedSafeModeRefused(t *testing.T) {
	h := newHarness(t)
	guess, _ := signing.NewKeys("t1", map[string][]byte{"t1": []byte("an attacker's guess at the key!!")})
	forged := workflows.SafeModeRequest{Enabled: false, By: "U0ATTACKER", Via: workflows.ViaAPI}
	forged.Seal = guess.Sign(workflows.SafeModeClaim(forged), time.Unix(1700000000, 0))
	var errs []string
	for i, req := range []workflows.SafeModeRequest{{Enabled: false, By: "U0ATTACKER", Via: workflows.ViaAPI}, forged} {
		h.env.RegisterDelayedCallback(func() {
			h.env.UpdateWorkflow(workflows.UpdateSafeMode, fmt.Sprint("s", i), &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { errs = append(errs, err.Error()) }, OnComplete: func(any, error) {},
			}, req)
		}, time.Duration(i+1)*time.Minute)
	}
	var state workflows.GuardState
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryGuard)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(&state); err != nil {
			t.Error(err)
		}
	}, 3*time.Minute)
	h.env.ExecuteWorkflow(workflows.GuardWorkflow, workflows.GuardState{SafeMode: true})
	if len(errs) != 2 || !strings.Contains(errs[0], "unsigned decision") || !strings.Contains(errs[1], "forged decision") {
		t.Errorf("safe-mode updates: %v", errs)
	}
	if !state.SafeMode || state.SafeModeBy != "" {
		t.Errorf("guard state changed: %+v", state)
	}
	h.audited("audit: safe mode update refused", "unsigned decision", "forged decision")
}

// safeMode sends a safe-mode Update at the given delay. With sign, it
// seals the request then, skew after the test clock's now (the API signs
// just before sending, skew 0); without, it sends req as it is. Each
// refusal is appended to errs as "id: error".
func (h *harness) safeMode(after time.Duration, id string, req *workflows.SafeModeRequest, sign bool, skew time.Duration, errs *[]string) {
	h.env.RegisterDelayedCallback(func() {
		if sign {
			req.Via = workflows.ViaAPI
			req.Seal = h.keys.Sign(workflows.SafeModeClaim(*req), h.env.Now().Add(skew))
		}
		h.env.UpdateWorkflow(workflows.UpdateSafeMode, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { *errs = append(*errs, id+": "+err.Error()) }, OnComplete: func(any, error) {},
		}, *req)
	}, after)
}

// queryGuard reads the guard's state at the given delay.
func (h *harness) queryGuard(after time.Duration, state *workflows.GuardState) {
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryGuard)
		if err == nil {
			err = v.Get(state)
		}
		if err != nil {
			h.t.Errorf("query: %v", err)
		}
	}, after)
}

// An accepted safe-mode switch is in the guard's history, sealed. Sent
// again unchanged it is refused: as a replay while its seal is fresh, as
// stale after signing.MaxAge. Otherwise an operator's "off" from last
// week would switch safe mode off again after another turned it on.
func TestSafeModeSealUsedOnce(t *testing.T) {
	h := newHarness(t)
	off := &workflows.SafeModeRequest{Enabled: false, By: "UOPS1"}
	on := &workflows.SafeModeRequest{Enabled: true, By: "UOPS2"}
	var errs []string
	h.safeMode(time.Minute, "off", off, true, 0, &errs)
	h.safeMode(2*time.Minute, "on", on, true, 0, &errs)
	// The same payload, byte for byte, minutes and days later.
	h.safeMode(3*time.Minute, "off-again", off, false, 0, &errs)
	h.safeMode(72*time.Hour, "off-days-later", off, false, 0, &errs)
	var state workflows.GuardState
	h.queryGuard(73*time.Hour, &state)
	h.env.ExecuteWorkflow(workflows.GuardWorkflow, workflows.GuardState{SafeMode: true})
	if len(errs) != 2 || !strings.HasPrefix(errs[0], "off-again: ") || !strings.Contains(errs[0], "replayed signed request") ||
		!strings.HasPrefix(errs[1], "off-days-later: ") || !strings.Contains(errs[1], "stale signed request") {
		t.Errorf("refusals = %q; want the re-sent request refused as replayed, then as stale", errs)
	}
	if !state.SafeMode || state.SafeModeBy != "UOPS2" {
		t.Errorf("safe mode switched by a re-sent seal: %+v", state)
	}
	if len(state.UsedSeals) != 0 {
		t.Errorf("the query shows the used seals: %+v", state.UsedSeals)
	}
	h.audited("audit: safe mode update refused", "replayed signed request", "stale signed request")
}

// A seal made longer than signing.MaxAge before it reaches the guard is
// refused even if it was never used, and so is one dated too far ahead.
func TestSafeModeSealMustBeFresh(t *testing.T) {
	h := newHarness(t)
	var errs []string
	h.safeMode(time.Minute, "old", &workflows.SafeModeRequest{Enabled: false, By: "UOPS1"}, true, -signing.MaxAge-time.Second, &errs)
	h.safeMode(2*time.Minute, "ahead", &workflows.SafeModeRequest{Enabled: false, By: "UOPS1"}, true, signing.MaxAge+time.Second, &errs)
	var state workflows.GuardState
	h.queryGuard(4*time.Minute, &state)
	h.env.ExecuteWorkflow(workflows.GuardWorkflow, workflows.GuardState{SafeMode: true})
	if len(errs) != 2 || !strings.Contains(errs[0], "stale signed request") || !strings.Contains(errs[1], "stale signed request") {
		t.Errorf("refusals = %q", errs)
	}
	if !state.SafeMode {
		t.Errorf("safe mode switched off by a stale seal: %+v", state)
	}
}

// A signalled vote stays in the run's history even when the gate refuses
// it. Sent again unchanged it is refused as a replay: here UBOSS's
// approval, refused in the first round (UBOSS is not an approver then),
// must not count once the gate escalates to UBOSS. Sent as an Update
// later, its seal is stale.
func TestSealedVoteUsedOnce(t *testing.T) {
	h, _ := newGateHarness(t, 1, "escalate", "")
	var d workflows.Decision
	h.env.RegisterDelayedCallback(func() {
		d = h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UBOSS"})
		h.env.SignalWorkflow(workflows.SignalDecide, d)
	}, 10*time.Minute)
	// The gate escalates to UBOSS at 30m.
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.SignalDecide, d) }, 40*time.Minute)
	var update string
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateDecide, "again", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { update = err.Error() }, OnComplete: func(any, error) {},
		}, d)
	}, 41*time.Minute)
	res := runGate(t, h, 1, "escalate", "escalate_to: {users: [UBOSS], timeout: 1h}", "")
	wantStatuses(t, res, map[string]string{"isolate": "timed_out"})
	g := res.Gates[0]
	if len(g.Votes) != 0 || len(g.Refused) != 2 || !strings.Contains(g.Refused[0].Refusal, "UBOSS is not an approver") ||
		!strings.Contains(g.Refused[1].Refusal, "replayed signed request") {
		t.Errorf("gate %s, votes %+v, refused %+v", g.State, g.Votes, g.Refused)
	}
	if !strings.Contains(update, "stale signed request") {
		t.Errorf("the vote re-sent as an Update: %q", update)
	}
}

// The rollback seal covers the undo calls the workflow runs
// (sec-rollback-undo-sealed): a sealed input with its undo list swapped
// after signing (read back from a history, started again under another
// id) is refused before anything is undone.
func TestRollbackSealCoversUndo(t *testing.T) {
	h := newHarness(t)
	v := &vendorFake{}
	v.register(h.env, "crowdstrike.lift_containment", "okta.unsuspend_user")
	in := workflows.RollbackInput{WorkflowID: "w1", RunID: "r1", Requester: "USOC", Via: workflows.ViaAPI,
		Undo: []workflows.UndoCall{{Step: "isolate", Action: "crowdstrike.contain_host", Undo: "crowdstrike.lift_containment", Params: map[string]any{"hostname": "h1"}}}}
	in = sealRollback(t, h, in, h.env.Now())
	in.Undo = []workflows.UndoCall{
		{Step: "isolate", Action: "crowdstrike.contain_host", Undo: "crowdstrike.lift_containment", Params: map[string]any{"hostname": "attacker-host"}},
		{Step: "suspend", Action: "okta.suspend_user", Undo: "okta.unsuspend_user", Params: map[string]any{"user": "attacker@example.com"}},
	}
	h.env.ExecuteWorkflow(workflows.RollbackWorkflow, in)
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "rollback refused") || len(v.calls) != 0 {
		t.Errorf("tampered rollback: err %v; undo calls made: %+v", err, v.calls)
	}
}

// A vote's credential is covered by its seal and recorded with the vote;
// the same vote with its credential changed on the way is refused.
func TestVoteRecordsItsSealedCredential(t *testing.T) {
	h, _ := newGateHarness(t, 1, "deny", "")
	swapped := h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "U0INFRA001", Credential: "token:tok_infra"})
	swapped.Credential = "token:tok_someone_else"
	var changed, ok string
	h.vote(time.Minute, swapped, &changed)
	h.vote(2*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB", Credential: "token:tok_bob"}, &ok)
	res := runGate(t, h, 1, "deny", "", "")
	if !strings.Contains(changed, "forged") {
		t.Errorf("vote with its credential changed: %q, want refused as forged", changed)
	}
	if ok != "" {
		t.Fatalf("vote with its credential sealed: %q", ok)
	}
	wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
	if g := res.Gates[0]; len(g.Votes) != 1 || g.Votes[0].Credential != "token:tok_bob" || g.Decision == nil || g.Decision.Credential != "token:tok_bob" {
		t.Errorf("votes %+v, decision %+v: want UBOB's with credential token:tok_bob", g.Votes, g.Decision)
	}
}

// An extension, a safe-mode switch and a rollback cover the credential
// that authenticated their sender with their seal: changed on the way they
// are refused as forged; as sealed they are recorded with it.
func TestControlRequestsRecordTheirSealedCredential(t *testing.T) {
	t.Run("extend", func(t *testing.T) {
		h, _, _ := policyHarness(t, func(workflows.PolicyCheck) policy.Decision { return policy.Decision{Decision: policy.Allow} })
		var errs []string
		h.env.RegisterDelayedCallback(func() {
			swapped := h.sealExtend(workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(time.Hour), User: "USOC", Credential: "token:tok_soc"})
			swapped.Credential = "token:tok_someone_else"
			ok := h.sealExtend(workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(2 * time.Hour), User: "USOC", Credential: "token:tok_soc"})
			for i, req := range []workflows.ExtendRequest{swapped, ok} {
				h.env.UpdateWorkflow(workflows.UpdateExtend, fmt.Sprint("x", i), &testsuite.TestUpdateCallback{
					OnAccept: func() {}, OnReject: func(err error) { errs = append(errs, err.Error()) }, OnComplete: func(any, error) {},
				}, req)
			}
		}, time.Minute)
		res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto\n    contain_for: 4h", 1)), det)
		if err != nil || len(res.Holds) != 1 {
			t.Fatalf("run: %v, holds %+v", err, res.Holds)
		}
		if len(errs) != 1 || !strings.Contains(errs[0], "forged") {
			t.Errorf("refusals %q; want the extension with its credential changed refused as forged", errs)
		}
		if ext := res.Holds[0].Extensions; len(ext) != 1 || !strings.HasPrefix(ext[0], "2h by USOC (token:tok_soc) at ") {
			t.Errorf("extensions %q; want the 2h one by USOC with its credential", ext)
		}
	})
	t.Run("safe mode", func(t *testing.T) {
		h := newHarness(t)
		var errs []string
		swapped := &workflows.SafeModeRequest{Enabled: false, By: "UOPS1", Credential: "oidc:ops1"}
		h.env.RegisterDelayedCallback(func() {
			swapped.Via = workflows.ViaAPI
			swapped.Seal = h.keys.Sign(workflows.SafeModeClaim(*swapped), h.env.Now())
			swapped.Credential = "oidc:someone-else"
		}, 30*time.Second)
		h.safeMode(time.Minute, "swapped", swapped, false, 0, &errs)
		h.safeMode(2*time.Minute, "ok", &workflows.SafeModeRequest{Enabled: false, By: "UOPS1", Credential: "oidc:ops1"}, true, 0, &errs)
		var state workflows.GuardState
		h.queryGuard(3*time.Minute, &state)
		h.env.ExecuteWorkflow(workflows.GuardWorkflow, workflows.GuardState{SafeMode: true})
		if len(errs) != 1 || !strings.Contains(errs[0], "swapped: ") || !strings.Contains(errs[0], "forged") {
			t.Errorf("refusals %q; want the switch with its credential changed refused as forged", errs)
		}
		if state.SafeMode || state.SafeModeBy != "UOPS1" || state.SafeModeCredential != "oidc:ops1" {
			t.Errorf("guard state %+v; want off by UOPS1 with credential oidc:ops1", state)
		}
	})
	t.Run("rollback", func(t *testing.T) {
		h := newHarness(t)
		v := &vendorFake{}
		v.register(h.env, "crowdstrike.lift_containment")
		in := workflows.RollbackInput{WorkflowID: "w1", RunID: "r1", Requester: "USOC", Via: workflows.ViaAPI, Credential: "token:tok_soc",
			Undo: []workflows.UndoCall{{Step: "isolate", Action: "crowdstrike.contain_host", Undo: "crowdstrike.lift_containment", Params: map[string]any{"hostname": "h1"}}}}
		in = sealRollback(t, h, in, h.env.Now())
		in.Credential = "token:tok_someone_else"
		h.env.ExecuteWorkflow(workflows.RollbackWorkflow, in)
		if err := h.env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "forged") || len(v.calls) != 0 {
			t.Errorf("rollback with its credential changed: err %v, %d undo calls; want refused as forged", err, len(v.calls))
		}
	})
}
