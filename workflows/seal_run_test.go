package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// testRunID is the run id the SDK's test environment gives a run.
const testRunID = "default-test-run-id"

// A reopened finding's new run reuses the workflow id of the run that
// ended, so a vote copied from that run's history verifies there (the seal
// names the workflow id) and is fresh for 10 minutes. A vote sealed for
// another run (Decision.RunID, covered by the seal) is refused, as a
// signal and as an Update, and one sealed for this run counts; a vote
// sealed without a run id (a worker of an earlier release polls) counts
// as before.
func TestVoteSealedForAnotherRunRefused(t *testing.T) {
	t.Run("signal", func(t *testing.T) {
		h, _ := newGateHarness(t, 2, "deny", "")
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalDecide, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB", RunID: "earlier-run"}))
		}, time.Minute)
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalDecide, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UALICE", RunID: testRunID}))
			h.env.SignalWorkflow(workflows.SignalDecide, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UCAROL"}))
		}, 2*time.Minute)
		res := runGate(t, h, 2, "deny", "", "")
		wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
		g := res.Gates[0]
		if len(g.Votes) != 2 || g.Votes[0].User != "UALICE" || g.Votes[1].User != "UCAROL" {
			t.Errorf("votes %+v; want UALICE's (sealed for this run) and UCAROL's (sealed without a run)", g.Votes)
		}
		if len(g.Refused) != 1 || g.Refused[0].User != "UBOB" || !strings.Contains(g.Refused[0].Refusal, "sealed for run earlier-run") {
			t.Errorf("refused %+v; want UBOB's vote sealed for run earlier-run", g.Refused)
		}
		h.audited("audit: decision signal refused", "sealed for run earlier-run")
	})
	t.Run("update", func(t *testing.T) {
		h, _ := newGateHarness(t, 1, "deny", "")
		var other, this string
		h.vote(time.Minute, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB", RunID: "earlier-run"}), &other)
		h.vote(2*time.Minute, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UALICE", RunID: testRunID}), &this)
		res := runGate(t, h, 1, "deny", "", "")
		if !strings.Contains(other, "stale signed request: sealed for run earlier-run") {
			t.Errorf("vote sealed for another run: %q, want refused", other)
		}
		if this != "" {
			t.Errorf("vote sealed for this run: %q, want counted", this)
		}
		wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
		if g := res.Gates[0]; len(g.Votes) != 1 || g.Votes[0].User != "UALICE" {
			t.Errorf("votes %+v; want UALICE's only", g.Votes)
		}
		h.audited("audit: decision update refused", "sealed for run earlier-run")
	})
	t.Run("run id changed on the way", func(t *testing.T) {
		h, _ := newGateHarness(t, 1, "deny", "")
		moved := h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB", RunID: "earlier-run"})
		moved.RunID = testRunID
		var got string
		h.vote(time.Minute, moved, &got)
		runGate(t, h, 1, "deny", "", "")
		if !strings.Contains(got, "forged") {
			t.Errorf("vote with its run id changed: %q, want refused as forged", got)
		}
		h.audited("audit: decision update refused", "forged")
	})
}

// An extension sealed for another run of the workflow id is refused; one
// sealed for this run extends the hold.
func TestExtendSealedForAnotherRunRefused(t *testing.T) {
	h, _, _ := policyHarness(t, func(workflows.PolicyCheck) policy.Decision { return policy.Decision{Decision: policy.Allow} })
	var errs []string
	h.env.RegisterDelayedCallback(func() {
		other := h.sealExtend(workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(time.Hour), User: "USOC", RunID: "earlier-run"})
		this := h.sealExtend(workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(2 * time.Hour), User: "USOC", RunID: testRunID})
		for i, req := range []workflows.ExtendRequest{other, this} {
			h.env.UpdateWorkflow(workflows.UpdateExtend, fmt.Sprint("x", i), &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { errs = append(errs, err.Error()) }, OnComplete: func(any, error) {},
			}, req)
		}
	}, time.Minute)
	res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto\n    contain_for: 4h", 1)), det)
	if err != nil || len(res.Holds) != 1 {
		t.Fatalf("run: %v, holds %+v", err, res.Holds)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "sealed for run earlier-run") {
		t.Errorf("refusals %q; want the extension sealed for run earlier-run refused", errs)
	}
	if ext := res.Holds[0].Extensions; len(ext) != 1 || !strings.HasPrefix(ext[0], "2h by USOC") {
		t.Errorf("extensions %q; want the 2h one sealed for this run", ext)
	}
}
