package workflows_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// docs/operations.md, rotating a leaked codec key: retire the old key
// ("retired": {"k1": "<time>"}), after which "a decision sealed with it
// after that time is refused as forged, so a leaked old key authorizes
// nothing while you keep it to read old histories". But the time a seal
// is "made" is the seal's own At, which whoever holds the leaked key
// writes: a seal dated a minute before the retirement verifies, and a
// decide signal's seal age is not checked (only that it does not predate
// the run). So on every run in flight at the rotation (gates parked for
// hours, contain_for holds for days: the runs a leak puts at risk), the
// retired key still approves a containment, sent straight to Temporal
// long after the retirement. The Update path is safe (Fresh against the
// workflow's now), the signal path is not.
//
// FAILS until fixed. Proposed fix (workflows/approval.go decide loop, and
// likewise lifecycle.go's finding and hold.go's rolled_back signals):
// refuse a seal of a retired key read when workflow.Now(ctx) is more than
// signing.MaxAge after that key's retirement (signing.Keys exposing the
// retirement time, or Keys.VerifyAt(claim, seal, now)), behind a
// workflow.GetVersion change asked only when it refuses, so histories
// that accepted such a seal replay unchanged.
func TestSignalSealedWithRetiredKeyAfterRetirementRefused(t *testing.T) {
	h, leaked, retiredAt := newRetiredKeyHarness(t)
	env := h.env
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil })
	f := &gateFake{}
	f.register(h.env)

	// Twenty minutes after the retirement, whoever kept k1 signals an
	// approval dated a minute before it.
	env.RegisterDelayedCallback(func() {
		d := workflows.Decision{GateID: "isolate", Approve: true, User: "UCAROL", Reason: "ok", Via: workflows.ViaAPI}
		d.Seal = leaked.Sign(workflows.DecisionClaim(testWorkflowID, d), retiredAt.Add(-time.Minute))
		env.SignalWorkflow(workflows.SignalDecide, d)
	}, 22*time.Minute)
	res := runGate(t, h, 1, "deny", "", "")
	if g := res.Gates[0]; g.State == workflows.GateApproved || len(g.Votes) != 0 {
		t.Errorf("gate %s, votes %+v: an approval sealed with k1, signalled 20 minutes after k1 was retired, counted", g.State, g.Votes)
	}
}

// newRetiredKeyHarness is a test worker whose key file retired k1 two
// minutes after the test clock's start (the runs were in flight when the
// team rotated away from the leaked k1), and the leaked k1 itself.
func newRetiredKeyHarness(t *testing.T) (h *harness, leaked *signing.Keys, retiredAt time.Time) {
	var s testsuite.WorkflowTestSuite
	logs := &logBuffer{}
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(logs, nil))))
	env := s.NewTestWorkflowEnvironment()
	k1, k2 := bytes.Repeat([]byte{1}, codec.KeySize), bytes.Repeat([]byte{2}, codec.KeySize)
	ring, err := codec.NewKeyring("k1", map[string][]byte{"k1": k1})
	if err != nil {
		t.Fatal(err)
	}
	retiredAt = env.Now().Add(2 * time.Minute).UTC().Truncate(time.Second).Add(time.Second)
	file := `{"active": "k2", "keys": {"k1": "` + base64.StdEncoding.EncodeToString(k1) + `", "k2": "` + base64.StdEncoding.EncodeToString(k2) +
		`"}, "retired": {"k1": "` + retiredAt.Format(time.RFC3339) + `"}}`
	rotated, err := codec.ParseKeyring([]byte(file), "test key file")
	if err != nil {
		t.Fatal(err)
	}
	in := workflows.NewInterpreter(activities.Catalog())
	in.Keys = signing.FromCodec(rotated)
	workflows.Register(env, in)
	return &harness{t: t, env: env, keys: in.Keys, logs: logs}, signing.FromCodec(ring), retiredAt
}

// The same for a finding record: a withdrawal sealed with the retired k1,
// dated before its retirement and signalled 20 minutes after it, is
// applied, and with on_withdraw: rollback it undoes the run's containment
// (the user unsuspended) on the word of a key the team retired because it
// leaked. FAILS until fixed (same fix, in lifecycle.go's finding signal).
func TestFindingSealedWithRetiredKeyAfterRetirementRefused(t *testing.T) {
	h, leaked, retiredAt := newRetiredKeyHarness(t)
	seen := h.record(map[string]any{"already": false}, "okta.suspend_user", "okta.unsuspend_user", "crowdstrike.contain_host", "jira.create_issue")
	f := &gateFake{}
	f.register(h.env)
	allowPolicy(h)
	c := compileYAML(t, replaceOnce(lifecyclePlaybook, "%s", "on_withdraw: rollback"))
	det := map[string]any{"actor": map[string]any{"user": map[string]any{"email_addr": "j.doe@example.com"}}, "device": map[string]any{"hostname": "fin-ws-042"}}
	var ok string
	h.vote(30*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "U1"}, &ok)
	h.env.RegisterDelayedCallback(func() {
		u := withdrawal
		u.By, u.Via = "UDETECTOR", workflows.ViaIntake
		forged, err := workflows.SealFinding(leaked, testWorkflowID, u, retiredAt.Add(-time.Minute))
		if err != nil {
			t.Error(err)
		}
		h.env.SignalWorkflow(workflows.SignalFinding, forged)
	}, 22*time.Minute)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
	res, err := resultOf(h)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.Withdrawn != nil || slices.Contains(seen.list, "okta.unsuspend_user") || res.Outcome == workflows.OutcomeWithdrawn {
		t.Errorf("withdrawn %+v, calls %v, outcome %s: a withdrawal sealed with the retired k1, signalled 20 minutes after its retirement, was applied", res.Withdrawn, seen.list, res.Outcome)
	}
}
