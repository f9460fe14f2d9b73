package workflows_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/workflows"
)

// The README ("Each seal once, while fresh") gives the seal's maximum age
// as "10 minutes"; these tests use that figure, not signing.MaxAge, so a
// change of the constant alone fails them.
const readmeMaxAge = 10 * time.Minute

// sealAt signs d as the API would (Via api), dated at.
func (h *harness) sealAt(d workflows.Decision, at time.Time) workflows.Decision {
	d.Via = workflows.ViaAPI
	d.Seal = h.keys.Sign(workflows.DecisionClaim(testWorkflowID, d), at)
	return d
}

// A decide signal may wait for a worker (Prefer: respond-async, or no
// worker up), so its seal's age is not checked when the run reads it: a
// vote sealed at 5m and read at 20m, after a worker outage longer than
// 10 minutes, still counts.
func TestSignalledVoteAgeNotChecked(t *testing.T) {
	h, _ := newGateHarness(t, 1, "deny", "")
	h.env.RegisterDelayedCallback(func() {
		at := h.env.Now().Add(-readmeMaxAge - 5*time.Minute)
		h.env.SignalWorkflow(workflows.SignalDecide, h.sealAt(workflows.Decision{GateID: "isolate", Approve: true, User: "UCAROL", Reason: "ok"}, at))
	}, 20*time.Minute)
	res := runGate(t, h, 1, "deny", "", "")
	wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
	g := res.Gates[0]
	if g.State != workflows.GateApproved || len(g.Votes) != 1 || g.Votes[0].User != "UCAROL" || len(g.Refused) != 0 {
		t.Errorf("gate %s, votes %+v, refused %+v; want UCAROL's old signalled vote applied", g.State, g.Votes, g.Refused)
	}
	h.audited("audit: decision signal refused")
}

// A vote sent as an Update is checked against the workflow's clock: a
// seal made more than 10 minutes before or after it is refused as stale,
// one made within 10 minutes before or after counts (seals are dated to
// the second, hence the second's margin).
func TestVoteUpdateSealAgeTenMinutes(t *testing.T) {
	h, _ := newGateHarness(t, 2, "deny", "")
	outs := map[string]*string{}
	for _, tc := range []struct {
		user string
		skew time.Duration
	}{
		{"UBOB", -readmeMaxAge - time.Second},
		{"UBOB", readmeMaxAge + time.Second},
		{"UALICE", -readmeMaxAge + time.Second},
		{"UCAROL", readmeMaxAge - time.Second},
	} {
		out := new(string)
		outs[fmt.Sprint(tc.user, tc.skew)] = out
		after := time.Minute + time.Duration(len(outs))*time.Minute
		h.env.RegisterDelayedCallback(func() {
			d := h.sealAt(workflows.Decision{GateID: "isolate", Approve: true, User: tc.user}, h.env.Now().Add(tc.skew))
			h.env.UpdateWorkflow(workflows.UpdateDecide, fmt.Sprint(tc.user, tc.skew), &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { *out = err.Error() }, OnComplete: func(_ any, err error) {
					if err != nil {
						*out = "failed: " + err.Error()
					}
				},
			}, d)
		}, after)
	}
	res := runGate(t, h, 2, "deny", "", "")
	for key, out := range outs {
		stale := strings.HasPrefix(key, "UBOB")
		if stale != strings.Contains(*out, "stale signed request") || (!stale && *out != "") {
			t.Errorf("vote %s: %q (want stale: %v)", key, *out, stale)
		}
	}
	wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
	if g := res.Gates[0]; len(g.Votes) != 2 || g.Votes[0].User != "UALICE" || g.Votes[1].User != "UCAROL" {
		t.Errorf("votes %+v; want UALICE's and UCAROL's", g.Votes)
	}
	h.audited("audit: decision update refused", "stale signed request", "stale signed request")
}

// rollbackAfter runs the rollback in as a child of a workflow that waits
// an hour first. The test environment gives a child its parent's start
// time, so the rollback's start time (WorkflowStartTime) is the hour
// before its first workflow task (workflow.Now): the shape of a rollback
// whose worker was down for an hour after the server recorded its start.
func rollbackAfter(t *testing.T, h *harness, in workflows.RollbackInput) error {
	t.Helper()
	h.env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.RollbackInput) ([]workflows.UndoResult, error) {
		start := workflow.GetInfo(ctx).WorkflowStartTime
		if err := workflow.Sleep(ctx, time.Hour); err != nil {
			return nil, err
		}
		var out []workflows.UndoResult
		err := workflow.ExecuteChildWorkflow(ctx, workflows.RollbackWorkflow, in).Get(ctx, &out)
		if now := workflow.Now(ctx); now.Sub(start) < time.Hour {
			t.Errorf("the rollback ran at %s, only %s after its start", now, now.Sub(start))
		}
		return out, err
	}, workflow.RegisterOptions{Name: "test.rollback-after-outage"})
	h.env.ExecuteWorkflow("test.rollback-after-outage", in)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	return h.env.GetWorkflowError()
}

// A rollback's seal is checked at the rollback's start time, which the
// server records, not when a worker first runs it: after an hour's outage
// a rollback sealed just under 10 minutes before its start still runs; one sealed
// more than 10 minutes before its start (a sealed rollback read back from
// a history and started again) is refused.
func TestRollbackFreshAtStartTime(t *testing.T) {
	for _, tc := range []struct {
		name   string
		age    time.Duration
		refuse bool
	}{
		{"sealed at the start", 0, false},
		{"sealed just under 10 minutes before the start", readmeMaxAge - time.Second, false},
		{"sealed more than 10 minutes before the start", readmeMaxAge + time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			v := &vendorFake{}
			v.register(h.env, "crowdstrike.lift_containment")
			in := workflows.RollbackInput{WorkflowID: "w1", Requester: "USOC", Via: workflows.ViaAPI,
				Undo: []workflows.UndoCall{{Step: "isolate", Action: "crowdstrike.contain_host", Undo: "crowdstrike.lift_containment", Params: map[string]any{"hostname": "h1"}}}}
			in = sealRollback(t, h, in, h.env.Now().Add(-tc.age))
			err := rollbackAfter(t, h, in)
			if tc.refuse {
				if err == nil || !strings.Contains(err.Error(), "rollback refused: stale signed request") || len(v.calls) != 0 {
					t.Errorf("err %v, %d undo calls; want refused as stale, nothing undone", err, len(v.calls))
				}
				h.audited("audit: rollback workflow refused", "stale signed request")
				return
			}
			if err != nil || len(v.calls) != 1 {
				t.Errorf("err %v, %d undo calls; want the rollback run after the outage", err, len(v.calls))
			}
			h.audited("audit: rollback workflow refused")
		})
	}
}

// The guard carries the seals of its recent safe-mode switches across
// continue-as-new: a switch applied just before the guard continued as new,
// read back from the old run's history and sent to the new run while its
// seal is still fresh, is refused as replayed.
func TestGuardSealsCarriedAcrossContinueAsNew(t *testing.T) {
	h := newHarness(t)
	off := &workflows.SafeModeRequest{Enabled: false, By: "UOPS1"}
	var errs []string
	h.safeMode(time.Minute, "off", off, true, 0, &errs)
	// The history grows past its bound: the guard continues as new.
	h.env.RegisterDelayedCallback(func() { h.env.SetCurrentHistoryLength(5000) }, 2*time.Minute)
	// A timer after the bound wakes the guard to see it.
	h.queryGuard(3*time.Minute, new(workflows.GuardState))
	h.env.ExecuteWorkflow(workflows.GuardWorkflow, workflows.GuardState{SafeMode: true})
	if len(errs) != 0 {
		t.Fatalf("first switch refused: %q", errs)
	}
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var carried workflows.GuardState
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &carried); err != nil {
		t.Fatal(err)
	}
	if carried.SafeMode || carried.SafeModeBy != "UOPS1" {
		t.Fatalf("carried state %+v", carried)
	}
	ended := h.env.Now()

	// The new run, a few minutes later: the same request, byte for byte.
	h2 := newHarness(t)
	h2.env.SetStartTime(ended.Add(time.Minute))
	on := &workflows.SafeModeRequest{Enabled: true, By: "UOPS2"}
	h2.safeMode(time.Minute, "on", on, true, 0, &errs)
	h2.safeMode(2*time.Minute, "off-again", off, false, 0, &errs)
	var resent time.Time
	h2.env.RegisterDelayedCallback(func() { resent = h2.env.Now() }, 2*time.Minute)
	var state workflows.GuardState
	h2.queryGuard(3*time.Minute, &state)
	h2.env.ExecuteWorkflow(workflows.GuardWorkflow, carried)
	if age := resent.Sub(off.Seal.At); age > readmeMaxAge || age < 0 {
		t.Fatalf("the re-sent seal is %s old: stale anyway, the test proves nothing", age)
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "off-again: ") || !strings.Contains(errs[0], "replayed signed request") {
		t.Errorf("refusals %q; want the switch from before continue-as-new refused as replayed", errs)
	}
	if !state.SafeMode || state.SafeModeBy != "UOPS2" {
		t.Errorf("safe mode switched by a seal used before continue-as-new: %+v", state)
	}
	h2.audited("audit: safe mode update refused", "replayed signed request")
}
