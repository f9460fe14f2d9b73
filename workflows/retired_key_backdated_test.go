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

// docs/operations.md (Codec key rotation, step 3) retires a leaked old key
// with "retired": {"k1": "<time>"} so that "a decision sealed with it after
// that time is refused as forged, so a leaked old key authorizes nothing".
// Judged by the seal's own At (as Verify once did),
// which whoever holds k1 writes: a seal made after the retirement and
// dated a second before it would verify. The decide signal checks no age (it
// may wait for a worker) and refuses only a seal dated before the run
// started, so every run open at the retirement (a gate waiting, a hold)
// would still take approvals forged with the retired key, sent to Temporal
// directly, for as long as it stays open.
//
// Retirement is judged against the time the run received the request
// (signing.Keys.Retired with workflow.Now), not the seal's date, behind a
// per-request change id asked only when it refuses (retiredKey).
func TestSignalSealedWithRetiredKeyBackdatedRefused(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	retiredAt := start.Add(2 * time.Minute)
	k1, k2 := bytes.Repeat([]byte{1}, codec.KeySize), bytes.Repeat([]byte{2}, codec.KeySize)
	leaked, err := codec.NewKeyring("k1", map[string][]byte{"k1": k1})
	if err != nil {
		t.Fatal(err)
	}
	file := `{"active": "k2", "keys": {"k1": "` + base64.StdEncoding.EncodeToString(k1) + `", "k2": "` +
		base64.StdEncoding.EncodeToString(k2) + `"}, "retired": {"k1": "` + retiredAt.Format(time.RFC3339) + `"}}`
	ring, err := codec.ParseKeyring([]byte(file), "test key file")
	if err != nil {
		t.Fatal(err)
	}
	forger := signing.FromCodec(leaked)

	for _, tc := range []struct {
		name   string
		sealAt func(now time.Time) time.Time
	}{
		// Already refused: the forger dates the seal truthfully.
		{"dated when made", func(now time.Time) time.Time { return now }},
		// Accepted today: the forger dates it a second before retirement.
		{"backdated before the retirement", func(time.Time) time.Time { return retiredAt.Add(-time.Second) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			logs := &logBuffer{}
			s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(logs, nil))))
			env := s.NewTestWorkflowEnvironment()
			env.SetStartTime(start)
			in := workflows.NewInterpreter(activities.Catalog())
			in.Keys = signing.FromCodec(ring)
			workflows.Register(env, in)
			h := &harness{t: t, env: env, keys: in.Keys, logs: logs}
			h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil })
			(&gateFake{}).register(env)
			env.RegisterDelayedCallback(func() {
				// Ten minutes into the run, eight after k1 was retired.
				d := workflows.Decision{GateID: "isolate", Approve: true, User: "UCAROL", Reason: "ok", Via: workflows.ViaAPI}
				d.Seal = forger.Sign(workflows.DecisionClaim(testWorkflowID, d), tc.sealAt(env.Now()))
				env.SignalWorkflow(workflows.SignalDecide, d)
			}, 10*time.Minute)
			res := runGate(t, h, 1, "deny", "", "")
			if g := res.Gates[0]; g.State == workflows.GateApproved || len(g.Votes) != 0 {
				t.Errorf("gate %s, votes %+v: an approval sealed with k1 %s after k1 was retired at %s counted",
					g.State, g.Votes, 8*time.Minute, retiredAt.Format(time.RFC3339))
			}
		})
	}
}

// The same for a finding record: a withdrawal sealed with the retired k1,
// dated before its retirement and signalled eight minutes after it, is
// applied, and with on_withdraw: rollback it lifts the run's containment
// (okta.unsuspend_user).
//
// Refused the same way (retiredKey in the finding signal).
func TestFindingSealedWithRetiredKeyBackdatedRefused(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	retiredAt := start.Add(2 * time.Minute)
	k1, k2 := bytes.Repeat([]byte{1}, codec.KeySize), bytes.Repeat([]byte{2}, codec.KeySize)
	leaked, err := codec.NewKeyring("k1", map[string][]byte{"k1": k1})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := codec.ParseKeyring([]byte(`{"active": "k2", "keys": {"k1": "`+base64.StdEncoding.EncodeToString(k1)+`", "k2": "`+
		base64.StdEncoding.EncodeToString(k2)+`"}, "retired": {"k1": "`+retiredAt.Format(time.RFC3339)+`"}}`), "test key file")
	if err != nil {
		t.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	logs := &logBuffer{}
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(logs, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	in := workflows.NewInterpreter(activities.Catalog())
	in.Keys = signing.FromCodec(ring)
	workflows.Register(env, in)
	h := &harness{t: t, env: env, keys: in.Keys, logs: logs}
	seen := h.record(map[string]any{"already": false}, "okta.suspend_user", "okta.unsuspend_user", "crowdstrike.contain_host", "jira.create_issue")
	(&gateFake{}).register(env)
	allowPolicy(h)
	c := compileYAML(t, replaceOnce(lifecyclePlaybook, "%s", "on_withdraw: rollback"))
	det := map[string]any{"actor": map[string]any{"user": map[string]any{"email_addr": "j.doe@example.com"}}, "device": map[string]any{"hostname": "fin-ws-042"}}
	env.RegisterDelayedCallback(func() {
		u := withdrawal
		u.By, u.Via = "UDETECTOR", workflows.ViaIntake
		forged, err := workflows.SealFinding(signing.FromCodec(leaked), testWorkflowID, u, retiredAt.Add(-time.Second))
		if err != nil {
			t.Error(err)
		}
		env.SignalWorkflow(workflows.SignalFinding, forged)
	}, 10*time.Minute)
	var ok string
	h.vote(20*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "U1"}, &ok)
	env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
	res, err := resultOf(h)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.Withdrawn != nil || slices.Contains(seen.list, "okta.unsuspend_user") || res.Outcome == workflows.OutcomeWithdrawn {
		t.Errorf("withdrawn %+v, calls %v, outcome %s: a withdrawal sealed with k1 after k1 was retired (dated before) was applied", res.Withdrawn, seen.list, res.Outcome)
	}
}
