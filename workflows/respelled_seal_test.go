package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// TestExtendSealUsedOnce, except that each replay re-spells the seal's MAC
// (a trailing "\n", which lenient base64 decoding ignores): it is still the
// one extension the person asked for, and applies once (a MAC has one
// accepted spelling, signing.Verify).
func TestExtendReplayRespelledMACRefused(t *testing.T) {
	h, _, _ := policyHarness(t, func(workflows.PolicyCheck) policy.Decision { return policy.Decision{Decision: policy.Allow} })
	req := &workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(time.Hour), User: "USOC"}
	var errs []string
	h.extend(time.Hour, "x0", req, &errs) // seals req (the legitimate request)
	for i := 1; i < 4; i++ {
		i := i
		h.env.RegisterDelayedCallback(func() {
			replay := *req
			s := *req.Seal
			s.MAC += strings.Repeat("\n", i)
			replay.Seal = &s
			r := replay
			h.extend(0, fmt.Sprint("x", i), &r, &errs)
		}, time.Hour+time.Duration(i)*time.Minute)
	}
	res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto\n    contain_for: 4h", 1)), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Holds) != 1 || len(res.Holds[0].Extensions) != 1 {
		t.Errorf("one sealed 1h extension applied %d times: %q; refusals %q", len(res.Holds[0].Extensions), res.Holds[0].Extensions, errs)
	}
}

// UBOB approves in the first round; the gate escalates to [U0CISO0001,
// UBOB], quorum 2; only the CISO approves. Bob's first-round vote, read back
// from the history and signalled again with its MAC re-spelled, must not
// count as Bob's escalation vote (the unchanged MAC is refused as replayed).
func TestEscalationReplayedVoteRespelledMACRefused(t *testing.T) {
	h, _ := newGateHarness(t, 2, "escalate", "")
	var bobVote workflows.Decision
	var first, ciso string
	h.env.RegisterDelayedCallback(func() {
		bobVote = h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"})
		h.vote(0, bobVote, &first)
	}, 5*time.Minute)
	h.vote(31*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "U0CISO0001"}, &ciso)
	h.env.RegisterDelayedCallback(func() {
		replay := bobVote
		s := *bobVote.Seal
		s.MAC += "\n"
		replay.Seal = &s
		h.env.SignalWorkflow(workflows.SignalDecide, replay)
	}, 40*time.Minute)
	src := strings.Replace(escalationQuorumPlaybook, "[U0CISO0001, U0CISO0002]%s", "[U0CISO0001, UBOB], quorum: 2", 1)
	c := compileYAML(t, src)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
	res, _ := resultOf(h)
	g := res.Gates[0]
	if first != "" || ciso != "" {
		t.Fatalf("legitimate votes refused: %q %q", first, ciso)
	}
	if g.State == workflows.GateApproved {
		t.Errorf("gate approved by a replay of UBOB's first-round vote (votes %d, refused %+v)", len(g.Votes), g.Refused)
	}
}

// TestSafeModeSealUsedOnce with the re-sent "off" re-spelled (MAC + "\n"):
// UOPS1's earlier "off" does not switch safe mode off again after UOPS2
// turned it on.
func TestSafeModeReplayRespelledMACRefused(t *testing.T) {
	h := newHarness(t)
	off := &workflows.SafeModeRequest{Enabled: false, By: "UOPS1"}
	on := &workflows.SafeModeRequest{Enabled: true, By: "UOPS2"}
	var errs []string
	h.safeMode(time.Minute, "off", off, true, 0, &errs)
	h.safeMode(2*time.Minute, "on", on, true, 0, &errs)
	replay := &workflows.SafeModeRequest{}
	h.env.RegisterDelayedCallback(func() {
		*replay = *off
		s := *off.Seal
		s.MAC += "\n"
		replay.Seal = &s
	}, 150*time.Second)
	h.safeMode(3*time.Minute, "off-again", replay, false, 0, &errs)
	var state workflows.GuardState
	h.queryGuard(4*time.Minute, &state)
	h.env.ExecuteWorkflow(workflows.GuardWorkflow, workflows.GuardState{SafeMode: true})
	if !state.SafeMode || state.SafeModeBy != "UOPS2" {
		t.Errorf("safe mode switched off by a re-sent seal: %+v (refusals %q)", state, errs)
	}
}
