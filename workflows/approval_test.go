package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

const gatePlaybook = `apiVersion: riposte/v1
name: gated
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: core.noop
    with: {hostname: "${{ detection.device.hostname }}"}
    approval:
      approvers: {users: [UALICE, UBOB, UCAROL]}
      quorum: %d
      timeout: 30m
      on_timeout: %s
      %s
  - id: after
    action: core.noop
    needs: [isolate]
`

// gateFake records the approval activities.
type gateFake struct {
	mu      sync.Mutex
	opened  []workflows.GateRequest
	updates []workflows.GateUpdate
}

func (f *gateFake) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivityWithOptions(func(_ context.Context, req workflows.GateRequest) (workflows.GateOpened, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.opened = append(f.opened, req)
		users := append([]string(nil), req.Users...)
		if len(req.Groups) > 0 {
			users = append(users, "UGROUPMEMBER")
		}
		return workflows.GateOpened{Approvers: uniqueSorted(users), Channel: "CSEC", MessageTS: fmt.Sprintf("1700000000.%06d", len(f.opened)), Posted: true}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityOpenGate})
	env.RegisterActivityWithOptions(func(_ context.Context, u workflows.GateUpdate) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.updates = append(f.updates, u)
		return nil
	}, activity.RegisterOptions{Name: workflows.ActivityUpdateGate})
}

func newGateHarness(t *testing.T, quorum int, onTimeout, extra string) (*harness, *gateFake) {
	h := newHarness(t)
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil })
	f := &gateFake{}
	f.register(h.env)
	return h, f
}

// vote sends a decision as an Update at the given delay and records the
// outcome: "" when accepted, else the rejection.
func (h *harness) vote(after time.Duration, d workflows.Decision, out *string) {
	h.env.RegisterDelayedCallback(func() {
		if d.Seal == nil && d.Via != "unsigned" {
			d = h.seal(d)
		}
		h.env.UpdateWorkflow(workflows.UpdateDecide, fmt.Sprintf("u-%s-%d", d.User, after), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { *out = err.Error() },
			OnComplete: func(_ any, err error) {
				if err != nil {
					*out = "failed: " + err.Error()
				}
			},
		}, d)
	}, after)
}

func runGate(t *testing.T, h *harness, quorum int, onTimeout, extra string, requester string) *workflows.Result {
	t.Helper()
	c := compileYAML(t, fmt.Sprintf(gatePlaybook, quorum, onTimeout, extra))
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, Requester: requester})
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	res, _ := resultOf(h)
	return res
}

func resultOf(h *harness) (*workflows.Result, error) {
	var res workflows.Result
	err := h.env.GetWorkflowError()
	if err == nil {
		_ = h.env.GetWorkflowResult(&res)
		return &res, nil
	}
	type detailer interface{ Details(...any) error }
	var ae interface {
		error
		detailer
	}
	if asApp(err, &ae) {
		_ = ae.Details(&res)
	}
	return &res, err
}

func TestGateQuorumAndRules(t *testing.T) {
	h, f := newGateHarness(t, 2, "deny", "")
	var outsider, self, first, dup, second, late string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UMALLORY"}, &outsider)
	h.vote(2*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UALICE"}, &self)
	h.vote(3*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB", Reason: "confirmed", MessageTS: "1700000000.000001"}, &first)
	h.vote(4*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "ubob"}, &dup)
	h.vote(5*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UCAROL"}, &second)
	h.vote(6*time.Minute, workflows.Decision{GateID: "isolate", Approve: false, User: "UALICE"}, &late)
	// The action takes an hour, so the late vote reaches a closed gate.
	h.env.OnActivity("core.noop", mock.Anything, mock.Anything).After(time.Hour).Return(map[string]any{}, nil)
	res := runGate(t, h, 2, "deny", "", "UALICE")

	if !strings.Contains(outsider, "UMALLORY is not an approver") {
		t.Errorf("outsider: %q", outsider)
	}
	if !strings.Contains(self, "UALICE requested this action") {
		t.Errorf("self-approval: %q", self)
	}
	if first != "" || second != "" {
		t.Errorf("valid votes rejected: %q %q", first, second)
	}
	if !strings.Contains(dup, "already voted") {
		t.Errorf("duplicate: %q", dup)
	}
	if !strings.Contains(late, "closed (approved") {
		t.Errorf("vote after close: %q", late)
	}
	wantStatuses(t, res, map[string]string{"isolate": "succeeded", "after": "succeeded"})
	if len(res.Gates) != 1 {
		t.Fatalf("gates = %+v", res.Gates)
	}
	g := res.Gates[0]
	if g.State != workflows.GateApproved || len(g.Votes) != 2 || g.Decision.User != "UCAROL" || g.Votes[0].Reason != "confirmed" || g.Votes[0].Via != workflows.ViaAPI {
		t.Errorf("gate = %+v", g)
	}
	if strings.Join(g.Approvers, ",") != "UALICE,UBOB,UCAROL" || g.Why != "the step has an approval block" {
		t.Errorf("gate approvers/why = %v / %q", g.Approvers, g.Why)
	}
	if len(f.opened) != 1 || f.opened[0].Params["hostname"] != "fin-ws-042" || f.opened[0].Detection.Host != "fin-ws-042" {
		t.Errorf("open requests = %+v", f.opened)
	}
	// One message update per vote that did not close the gate, plus the final one.
	if len(f.updates) < 2 || f.updates[len(f.updates)-1].Gate.State != workflows.GateApproved {
		t.Errorf("updates = %+v", f.updates)
	}
}

func TestGateDeny(t *testing.T) {
	h, _ := newGateHarness(t, 1, "deny", "")
	var noReason, deny string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: false, User: "UBOB"}, &noReason)
	h.vote(2*time.Minute, workflows.Decision{GateID: "isolate", Approve: false, User: "UBOB", Reason: "production DB"}, &deny)
	res := runGate(t, h, 1, "deny", "reason: on_deny", "")
	if !strings.Contains(noReason, "a reason is required to deny") || deny != "" {
		t.Errorf("rejections: %q / %q", noReason, deny)
	}
	wantStatuses(t, res, map[string]string{"isolate": "denied", "after": "skipped"})
	// A denial is a decision: the run completes (see outcome_test.go).
	if res.Status != workflows.RunSucceeded || !strings.Contains(stepOf(res, "isolate").Reason, "denied by UBOB: production DB") {
		t.Errorf("result = %s %+v", res.Status, stepOf(res, "isolate"))
	}
}

func TestGateTimeouts(t *testing.T) {
	t.Run("deny", func(t *testing.T) {
		h, _ := newGateHarness(t, 1, "deny", "")
		res := runGate(t, h, 1, "deny", "", "")
		wantStatuses(t, res, map[string]string{"isolate": "timed_out", "after": "skipped"})
		if res.Gates[0].State != workflows.GateTimedOut || res.Gates[0].Decision.Via != workflows.ViaTimeout {
			t.Errorf("gate = %+v", res.Gates[0])
		}
	})
	t.Run("approve", func(t *testing.T) {
		h, _ := newGateHarness(t, 1, "approve", "")
		res := runGate(t, h, 1, "approve", "", "")
		wantStatuses(t, res, map[string]string{"isolate": "succeeded", "after": "succeeded"})
		if res.Gates[0].State != workflows.GateApproved || res.Gates[0].Decision.Via != workflows.ViaTimeout {
			t.Errorf("gate = %+v", res.Gates[0])
		}
	})
	t.Run("escalate", func(t *testing.T) {
		h, f := newGateHarness(t, 1, "escalate", "")
		var stale, alice, boss string
		// After 30m the gate escalates to UBOSS; a click on the first
		// message is stale, and first-round approvers are no longer asked.
		h.vote(31*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOSS", MessageTS: "1700000000.000001"}, &stale)
		h.vote(32*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UALICE"}, &alice)
		h.vote(33*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOSS", MessageTS: "1700000000.000002"}, &boss)
		res := runGate(t, h, 1, "escalate", "escalate_to: {users: [UBOSS], timeout: 1h}", "")
		if !strings.Contains(stale, "out of date") || !strings.Contains(alice, "not an approver") || boss != "" {
			t.Errorf("votes: stale=%q alice=%q boss=%q", stale, alice, boss)
		}
		wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
		g := res.Gates[0]
		if !g.Escalated || g.Decision.User != "UBOSS" || len(f.opened) != 2 || !f.opened[1].Escalation {
			t.Errorf("gate = %+v, opened = %d", g, len(f.opened))
		}
		if f.updates[0].Gate.State != workflows.GateEscalated {
			t.Errorf("first message not marked escalated: %+v", f.updates[0].Gate)
		}
		// It says who it went to: the escalation's approvers, not the
		// first round's (whose buttons no longer work).
		if got := strings.Join(f.updates[0].Gate.Approvers, ","); got != "UBOSS" {
			t.Errorf("the escalated message names approvers %q, want UBOSS", got)
		}
	})
	t.Run("escalation times out", func(t *testing.T) {
		h, _ := newGateHarness(t, 1, "escalate", "")
		res := runGate(t, h, 1, "escalate", "escalate_to: {users: [UBOSS], timeout: 1h}", "")
		wantStatuses(t, res, map[string]string{"isolate": "timed_out"})
	})
}

func TestGateSignalFallback(t *testing.T) {
	h, _ := newGateHarness(t, 1, "deny", "")
	h.env.RegisterDelayedCallback(func() {
		// Refused by the same rules: an outsider's signal changes nothing.
		h.env.SignalWorkflow(workflows.SignalDecide, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UMALLORY"}))
	}, time.Minute)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalDecide, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UCAROL", Reason: "ok"}))
	}, 2*time.Minute)
	res := runGate(t, h, 1, "deny", "", "")
	wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
	g := res.Gates[0]
	if len(g.Votes) != 1 || g.Decision.User != "UCAROL" || g.Decision.Via != workflows.ViaAPI {
		t.Errorf("gate = %+v", g)
	}
	// The refused signal is kept on the gate: its sender got no answer.
	if len(g.Refused) != 1 || g.Refused[0].User != "UMALLORY" || !g.Refused[0].Verified || !g.Refused[0].Approve ||
		!strings.Contains(g.Refused[0].Refusal, "UMALLORY is not an approver") || g.Refused[0].At.IsZero() {
		t.Errorf("refused = %+v", g.Refused)
	}
}

// An ordinary vote by signal (Prefer: respond-async: every decision of a
// parked run) asks for no version of the repeat and deadline checks: a
// marker is a history event and a search attribute upsert per decision.
func TestSignalVoteRecordsNoNewMarker(t *testing.T) {
	h, _ := newGateHarness(t, 1, "deny", "")
	var asked []string
	for _, change := range []string{workflows.ChangeSealsUsedOnce, workflows.ChangeVoteDeadline} {
		change := change
		h.env.OnGetVersion(change, workflow.DefaultVersion, 1).Run(func(mock.Arguments) { asked = append(asked, change) }).Return(workflow.Version(1))
	}
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalDecide, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UCAROL", Reason: "ok"}))
	}, 2*time.Minute)
	res := runGate(t, h, 1, "deny", "", "")
	wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
	if len(asked) > 0 {
		t.Errorf("an ordinary signal vote asked for %v", asked)
	}
}

// TestGateRefusedBounded: a flood of refused signals keeps only the newest
// MaxRefused on the gate, so bad votes cannot grow a run's state. The
// README says "the newest 20": the literal, so that a change of the bound
// must change the README too.
func TestGateRefusedBounded(t *testing.T) {
	const readmeRefused = 20
	h, _ := newGateHarness(t, 1, "deny", "")
	n := readmeRefused + 5
	h.env.RegisterDelayedCallback(func() {
		for i := range n {
			h.env.SignalWorkflow(workflows.SignalDecide, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: fmt.Sprintf("UOUT%02d", i)}))
		}
	}, time.Minute)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalDecide, h.seal(workflows.Decision{GateID: "isolate", Approve: false, User: "UCAROL", Reason: "no"}))
	}, 2*time.Minute)
	res := runGate(t, h, 1, "deny", "", "")
	g := res.Gates[0]
	if g.State != workflows.GateDenied || len(g.Refused) != readmeRefused {
		t.Fatalf("gate %s, %d refused, want %d", g.State, len(g.Refused), readmeRefused)
	}
	// The newest, in order, newest last: UOUT05 to UOUT24.
	for k, r := range g.Refused {
		if want := fmt.Sprintf("UOUT%02d", n-readmeRefused+k); r.User != want {
			t.Errorf("refused[%d] is %s's vote, want %s's (the newest %d, newest last)", k, r.User, want, readmeRefused)
		}
	}
}

func TestGateQueryAndApprovalIf(t *testing.T) {
	h, _ := newGateHarness(t, 1, "deny", "")
	var gates []workflows.Gate
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryGates)
		if err == nil {
			_ = v.Get(&gates)
		}
	}, time.Minute)
	var ok string
	h.vote(2*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &ok)
	res := runGate(t, h, 1, "deny", `if: detection.device.hostname == "fin-ws-042"`, "")
	if len(gates) != 1 || gates[0].State != workflows.GatePending {
		t.Errorf("gates query = %+v", gates)
	}
	wantStatuses(t, res, map[string]string{"isolate": "succeeded"})

	// approval.if false: no gate at all.
	h2, f2 := newGateHarness(t, 1, "deny", "")
	res2 := runGate(t, h2, 1, "deny", `if: detection.device.hostname == "web-prod-01"`, "")
	wantStatuses(t, res2, map[string]string{"isolate": "succeeded"})
	if len(res2.Gates) != 0 || len(f2.opened) != 0 {
		t.Errorf("gate opened although approval.if was false: %+v", res2.Gates)
	}
}

func TestDryRunGrantsApprovals(t *testing.T) {
	h, f := newGateHarness(t, 1, "deny", "")
	c := compileYAML(t, fmt.Sprintf(gatePlaybook, 1, "deny", ""))
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, DryRun: true})
	res, err := resultOf(h)
	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
	if len(f.opened) != 0 || res.Gates[0].Decision.Via != workflows.ViaDryRun {
		t.Errorf("dry run posted a request or did not simulate: %+v", res.Gates)
	}
}

// TestGateFailsClosedWithoutResolvedApprovers: a gate that names groups
// nobody could resolve (Slack down) accepts no vote and follows on_timeout.
func TestGateFailsClosedWithoutResolvedApprovers(t *testing.T) {
	h := newHarness(t)
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil })
	h.env.RegisterActivityWithOptions(func(_ context.Context, req workflows.GateRequest) (workflows.GateOpened, error) {
		return workflows.GateOpened{}, temporal.NewNonRetryableApplicationError("Slack unavailable", "SlackDown", nil)
	}, activity.RegisterOptions{Name: workflows.ActivityOpenGate})
	h.env.RegisterActivityWithOptions(func(_ context.Context, u workflows.GateUpdate) error { return nil },
		activity.RegisterOptions{Name: workflows.ActivityUpdateGate})
	var outsider string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UMALLORY"}, &outsider)
	c := compileYAML(t, `apiVersion: riposte/v1
name: groups-only
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: core.noop
    approval: {approvers: {groups: [S0SOC]}, timeout: 10m}
`)
	res, _ := h.run(c, det)
	if !strings.Contains(outsider, "no approver could be resolved") {
		t.Errorf("vote on an unresolved gate: %q", outsider)
	}
	wantStatuses(t, res, map[string]string{"isolate": "timed_out"})
	if r := stepOf(res, "isolate").Reason; r != "approval timed out after 10m" {
		t.Errorf("reason = %q", r)
	}
}

// TestGateSummaryVersion: a gate's detection summary is read from the run's
// finding view, so a confidence_score of 91.5 (which intake refuses) is no
// confidence and confidence_id decides (High: 85), and the severity is the
// view's. A run whose gates opened before ChangeSummaryFromView keeps the
// summary of the raw detection (91, no severity) on every message rewrite.
func TestGateSummaryVersion(t *testing.T) {
	d := map[string]any{
		"class_uid": 2004, "severity_id": 4, "confidence_score": 91.5, "confidence_id": 3,
		"finding_info": map[string]any{"uid": "f-2", "title": "Credential dumping"},
		"device":       map[string]any{"hostname": "fin-ws-042"},
		"metadata":     map[string]any{"product": map[string]any{"name": "detector"}},
	}
	for _, tc := range []struct {
		name       string
		legacy     bool
		confidence int
		severity   string
	}{
		{"from the view", false, 85, "High"},
		{"before the change", true, 91, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newGateHarness(t, 1, "deny", "")
			if tc.legacy {
				h.env.OnGetVersion(workflows.ChangeSummaryFromView, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			var vote string
			h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &vote)
			c := compileYAML(t, fmt.Sprintf(gatePlaybook, 1, "deny", ""))
			h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: d})
			if !h.env.IsWorkflowCompleted() || vote != "" {
				t.Fatalf("completed %v, vote %q", h.env.IsWorkflowCompleted(), vote)
			}
			if len(f.opened) != 1 || len(f.updates) == 0 {
				t.Fatalf("opened %d, updates %d", len(f.opened), len(f.updates))
			}
			for _, s := range []workflows.DetectionSummary{f.opened[0].Detection, f.updates[len(f.updates)-1].Request.Detection} {
				if s.Confidence == nil || *s.Confidence != tc.confidence || s.Severity != tc.severity || s.Host != "fin-ws-042" {
					t.Errorf("summary %+v, want confidence %d, severity %q", s, tc.confidence, tc.severity)
				}
			}
		})
	}
}

// A vote's seal must be fresh when it reaches the gate as an Update.
func TestVoteSealMustBeFresh(t *testing.T) {
	h, _ := newGateHarness(t, 1, "deny", "")
	var late string
	// Signed when the run starts, delivered after signing.MaxAge.
	h.vote(signing.MaxAge+time.Minute, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}), &late)
	res := runGate(t, h, 1, "deny", "", "")
	if !strings.Contains(late, "stale signed request") {
		t.Errorf("stale vote: %q", late)
	}
	wantStatuses(t, res, map[string]string{"isolate": "timed_out"})
}

// A vote that arrives after the gate's deadline is refused, even while the
// run is still busy updating the request message after an earlier vote
// (no timer is armed then): the gate expires at 30m (on_timeout: deny),
// UBOB approves at 29m30s, the message update takes 50s, and UCAROL's
// approval at 30m10s must not open the gate.
func TestVoteAfterDeadlineRefused(t *testing.T) {
	slow := func(t *testing.T) *harness {
		h, _ := newGateHarness(t, 2, "deny", "")
		h.env.OnActivity(workflows.ActivityUpdateGate, mock.Anything, mock.Anything).After(50 * time.Second).Return(nil)
		return h
	}
	check := func(t *testing.T, res *workflows.Result) {
		t.Helper()
		wantStatuses(t, res, map[string]string{"isolate": "timed_out"})
		if g := res.Gates[0]; g.State != workflows.GateTimedOut || len(g.Votes) != 1 || g.Votes[0].User != "UBOB" {
			t.Errorf("gate %s, votes %+v", g.State, g.Votes)
		}
	}
	t.Run("update", func(t *testing.T) {
		h := slow(t)
		var first, late string
		h.vote(29*time.Minute+30*time.Second, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &first)
		h.vote(30*time.Minute+10*time.Second, workflows.Decision{GateID: "isolate", Approve: true, User: "UCAROL"}, &late)
		res := runGate(t, h, 2, "deny", "", "UALICE")
		if first != "" || !strings.Contains(late, "the gate on step isolate expired at ") {
			t.Errorf("votes: first %q, late %q", first, late)
		}
		check(t, res)
		h.audited("audit: decision update refused", "expired at")
	})
	t.Run("signal", func(t *testing.T) {
		h := slow(t)
		var first string
		h.vote(29*time.Minute+30*time.Second, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &first)
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalDecide, h.seal(workflows.Decision{GateID: "isolate", Approve: true, User: "UCAROL"}))
		}, 30*time.Minute+10*time.Second)
		res := runGate(t, h, 2, "deny", "", "UALICE")
		if first != "" {
			t.Errorf("first vote refused: %q", first)
		}
		check(t, res)
		if r := res.Gates[0].Refused; len(r) != 1 || r[0].User != "UCAROL" || !strings.Contains(r[0].Refusal, "the gate on step isolate expired at ") {
			t.Errorf("refused: %+v", r)
		}
	})
}
