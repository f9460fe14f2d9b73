package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// outcomePlaybook: a gated isolation, a check that needs it, and a ticket
// and page that must happen whatever the isolation's fate (always: true).
// %s is the isolation's approval block.
const outcomePlaybook = `apiVersion: riposte/v1
name: outcome
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "${{ detection.device.hostname }}"}
    %s
  - id: check
    action: core.noop
    needs: [isolate]
  - id: ticket
    action: jira.create_issue
    needs: [check]
    always: true
    with:
      summary: "isolation ${{ steps.isolate.status }}"
  - id: page
    action: pagerduty.trigger
    needs: [ticket]
    always: true
    if: steps.isolate.status != "succeeded"
    with: {summary: "not isolated"}
`

const gateBlock = `approval: {approvers: {users: [UBOB]}, timeout: 30m, on_timeout: deny}`

// outcomeHarness registers fakes for the playbook's actions; fail makes the
// isolation fail (non-retryable) instead of succeeding.
func outcomeHarness(t *testing.T, fail bool) (*harness, *[]string) {
	h := newHarness(t)
	var ran []string
	var mu sync.Mutex // for_each items run concurrently
	rec := func(name string, err error) func(context.Context, catalog.Call) (map[string]any, error) {
		return func(_ context.Context, call catalog.Call) (map[string]any, error) {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			if err != nil {
				return nil, err
			}
			return call.Params, nil
		}
	}
	var isoErr error
	if fail {
		isoErr = temporal.NewNonRetryableApplicationError("device not found", "NotFound", nil)
	}
	h.action("defender.isolate_machine", rec("isolate", isoErr))
	h.action("core.noop", rec("check", nil))
	h.action("jira.create_issue", rec("ticket", nil))
	h.action("pagerduty.trigger", rec("page", nil))
	h.env.RegisterActivityWithOptions(func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
		return policy.Decision{Decision: policy.Allow}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
	f := &gateFake{}
	f.register(h.env)
	return h, &ran
}

func TestDenyIsADecision(t *testing.T) {
	h, ran := outcomeHarness(t, false)
	var deny string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: false, User: "UBOB", Reason: "prod DB"}, &deny)
	res, err := h.run(compileYAML(t, fmt.Sprintf(outcomePlaybook, gateBlock)), det)
	if err != nil || deny != "" {
		t.Fatalf("run err = %v, deny = %q: a denial must not fail the run", err, deny)
	}
	wantStatuses(t, res, map[string]string{"isolate": "denied", "check": "skipped", "ticket": "succeeded", "page": "succeeded"})
	if got := strings.Join(*ran, ","); got != "ticket,page" {
		t.Errorf("actions run = %s, want ticket,page", got)
	}
	if p, _ := stepOf(res, "ticket").Params.(map[string]any); p["summary"] != "isolation denied" {
		t.Errorf("ticket params = %v", stepOf(res, "ticket").Params)
	}
	if res.Status != workflows.RunSucceeded || res.Outcome != workflows.OutcomeNotContained || res.OutcomeDetail != "isolate denied by UBOB" {
		t.Errorf("result = %s / %s / %q", res.Status, res.Outcome, res.OutcomeDetail)
	}
}

func TestApprovalTimeoutIsADecision(t *testing.T) {
	h, ran := outcomeHarness(t, false)
	res, err := h.run(compileYAML(t, fmt.Sprintf(outcomePlaybook, gateBlock)), det)
	if err != nil {
		t.Fatalf("a timed-out approval failed the run: %v", err)
	}
	wantStatuses(t, res, map[string]string{"isolate": "timed_out", "check": "skipped", "ticket": "succeeded", "page": "succeeded"})
	if res.Outcome != workflows.OutcomeNotContained || res.OutcomeDetail != "isolate approval timed out" || len(*ran) != 2 {
		t.Errorf("outcome = %s %q, ran %v", res.Outcome, res.OutcomeDetail, *ran)
	}
}

func TestApprovedIsContained(t *testing.T) {
	h, ran := outcomeHarness(t, false)
	var ok string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &ok)
	res, err := h.run(compileYAML(t, fmt.Sprintf(outcomePlaybook, gateBlock)), det)
	if err != nil {
		t.Fatal(err)
	}
	// page's own if is false: always does not override a step's if.
	wantStatuses(t, res, map[string]string{"isolate": "succeeded", "check": "succeeded", "ticket": "succeeded", "page": "skipped"})
	if res.Outcome != workflows.OutcomeContained || res.OutcomeDetail != "" || strings.Join(*ran, ",") != "isolate,check,ticket" {
		t.Errorf("outcome = %s %q, ran %v", res.Outcome, res.OutcomeDetail, *ran)
	}
}

func TestAbortFailsButAlwaysStepsRun(t *testing.T) {
	h, ran := outcomeHarness(t, true)
	res, err := h.run(compileYAML(t, fmt.Sprintf(outcomePlaybook, "approval: auto")), det)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrRunFailed {
		t.Fatalf("run err = %v, want a RunFailed error", err)
	}
	wantStatuses(t, res, map[string]string{"isolate": "failed", "check": "skipped", "ticket": "succeeded", "page": "succeeded"})
	if res.Status != workflows.RunFailed || res.Outcome != workflows.OutcomeFailed || strings.Join(*ran, ",") != "isolate,ticket,page" {
		t.Errorf("result = %s / %s, ran %v", res.Status, res.Outcome, *ran)
	}
}

func TestWithoutAlwaysDenialSkipsDependents(t *testing.T) {
	h, ran := outcomeHarness(t, false)
	var deny string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: false, User: "UBOB"}, &deny)
	src := strings.ReplaceAll(fmt.Sprintf(outcomePlaybook, gateBlock), "    always: true\n", "")
	res, err := h.run(compileYAML(t, src), det)
	if err != nil {
		t.Fatal(err)
	}
	// page has its own if:, which decides (as before always: existed).
	wantStatuses(t, res, map[string]string{"isolate": "denied", "check": "skipped", "ticket": "skipped", "page": "succeeded"})
	if strings.Join(*ran, ",") != "page" || res.Outcome != workflows.OutcomeNotContained {
		t.Errorf("ran %v, outcome %s", *ran, res.Outcome)
	}
}

const holdPlaybook = `apiVersion: riposte/v1
name: hold
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "${{ detection.device.hostname }}"}
    approval: auto
    contain_for: 4h
`

func TestHoldReleaseTimeVisibleAndDryRunReleasesAtOnce(t *testing.T) {
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry_run=%v", dry), func(t *testing.T) {
			h, _ := outcomeHarness(t, false)
			var released []string
			h.action("defender.unisolate_machine", func(_ context.Context, call catalog.Call) (map[string]any, error) {
				released = append(released, fmt.Sprint(call.Params["hostname"]))
				return map[string]any{}, nil
			})
			var live []workflows.Hold
			var holdUntil time.Time
			start := h.env.Now()
			h.env.RegisterDelayedCallback(func() {
				v, err := h.env.QueryWorkflow(workflows.QueryHolds)
				if err != nil {
					t.Errorf("holds query: %v", err)
					return
				}
				_ = v.Get(&live)
			}, time.Hour)
			h.env.SetOnTimerScheduledListener(func(timerID string, d time.Duration) {
				holdUntil = h.env.Now().Add(d)
			})
			c := compileYAML(t, holdPlaybook)
			h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, DryRun: dry})
			res, err := resultOf(h)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil || len(released) != 1 {
				t.Fatalf("holds = %+v, released %v", res.Holds, released)
			}
			took := res.Holds[0].ReleasedAt.Sub(start)
			if dry {
				if took > time.Minute || !holdUntil.IsZero() {
					t.Errorf("dry run released after %s (timer until %s), want at once", took, holdUntil)
				}
				return
			}
			if took < 4*time.Hour || took > 4*time.Hour+time.Minute {
				t.Errorf("released after %s, want 4h", took)
			}
			if len(live) != 1 || live[0].ReleasedAt != nil || !live[0].Until.Equal(res.Holds[0].Until) || live[0].Until.Sub(start) < 4*time.Hour {
				t.Errorf("holds query during the hold = %+v (start %s)", live, start)
			}
		})
	}
}

func TestRolledBackSignalEndsHoldWithoutSecondUndo(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	undos := 0
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		undos++
		return map[string]any{}, nil
	})
	start := h.env.Now()
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalRolledBack, h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x"}))
	}, time.Hour)
	c := compileYAML(t, holdPlaybook)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
	res, err := resultOf(h)
	if err != nil {
		t.Fatal(err)
	}
	if undos != 0 {
		t.Errorf("the hold was undone %d times after the rollback", undos)
	}
	if res.RolledBack == nil || res.RolledBack.By != "UALICE" || res.RolledBack.At.Sub(start) < time.Hour || res.RolledBack.At.Sub(start) > 2*time.Hour {
		t.Errorf("rolled_back = %+v", res.RolledBack)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil || !strings.Contains(strings.Join(res.Holds[0].Extensions, ";"), "rollback:x") {
		t.Errorf("holds = %+v", res.Holds)
	}
	if res.EndedAt.Sub(start) > 2*time.Hour {
		t.Errorf("run kept holding until %s", res.EndedAt.Sub(start))
	}
}

func TestPlaybookRunsUnderItsOwnWorkflowType(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	c := compileYAML(t, fmt.Sprintf(outcomePlaybook, "approval: auto"))
	if got := workflows.PlaybookWorkflowType(c.Playbook.Name); got != "outcome" || !workflows.IsPlaybookWorkflowType(got) {
		t.Fatalf("workflow type %q", got)
	}
	for _, internal := range []string{workflows.RollbackWorkflow, workflows.GuardWorkflow, "riposte.bench.baseline", ""} {
		if workflows.IsPlaybookWorkflowType(internal) {
			t.Errorf("%q counted as a playbook run", internal)
		}
	}
	h.env.ExecuteWorkflow("outcome", workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
	res, err := resultOf(h)
	if err != nil || res.Playbook != "outcome" || res.Outcome != workflows.OutcomeContained {
		t.Fatalf("run under type outcome: %v %+v", err, res)
	}

	// A type that does not name the input's playbook is refused.
	h2, _ := outcomeHarness(t, false)
	h2.env.ExecuteWorkflow("other-playbook", workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
	var ae *temporal.ApplicationError
	if err := h2.env.GetWorkflowError(); !errors.As(err, &ae) || ae.Type() != "BadInput" || !strings.Contains(ae.Message(), `input names playbook "outcome"`) {
		t.Errorf("mismatched type: %v", err)
	}
}

// h1 is isolated, h2 is not: the run contained part of what it attempted.
func TestOutcomeOfPartlyFailedForEachIsPartiallyContained(t *testing.T) {
	res := runForEachPartial(t)
	if res.Outcome != workflows.OutcomePartiallyContained || res.OutcomeDetail != "isolate failed (1 of 2 items)" {
		t.Errorf("outcome = %s (%s), want partially_contained (isolate failed (1 of 2 items))", res.Outcome, res.OutcomeDetail)
	}
}

// selfUndoPlaybook is compromised-account's shape: the suspension succeeds,
// clearing the sessions fails, and the playbook's own rollback step
// unsuspends the account. %s takes extra steps.
const selfUndoPlaybook = `apiVersion: riposte/v1
name: selfundo
version: 1
on_withdraw: review
trigger: {when: "true"}
steps:
  - id: suspend
    action: okta.suspend_user
    with: {user: "j@example.com"}
    approval: auto
  - id: clear_sessions
    action: okta.clear_user_sessions
    needs: [suspend]
    with: {user: "j@example.com"}
    approval: auto
    on_failure: continue
  - id: rollback
    action: okta.unsuspend_user
    needs: [clear_sessions]
    if: steps.clear_sessions.status == "failed"
    with: {user: "j@example.com"}
    approval: auto
%s`

// selfUndoHarness fakes the Okta actions; clearing sessions fails.
func selfUndoHarness(t *testing.T) *harness {
	h, _ := outcomeHarness(t, false)
	for _, n := range []string{"okta.suspend_user", "okta.unsuspend_user"} {
		h.action(n, func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	}
	h.action("okta.clear_user_sessions", func(context.Context, catalog.Call) (map[string]any, error) {
		return nil, temporal.NewNonRetryableApplicationError("403 Forbidden", "Forbidden", nil)
	})
	return h
}

// The run unsuspended the account itself: nothing is contained, and a
// rollback has nothing to undo (it must not re-suspend first).
func TestInRunUndoCancelsTheContainment(t *testing.T) {
	h := selfUndoHarness(t)
	res, err := h.run(compileYAML(t, fmt.Sprintf(selfUndoPlaybook, "")), det)
	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, res, map[string]string{"suspend": "succeeded", "clear_sessions": "failed", "rollback": "succeeded"})
	if res.Outcome != workflows.OutcomeNotContained || res.OutcomeDetail != "suspend undone by step rollback; clear_sessions failed" {
		t.Errorf("outcome = %s (%q), but the run itself unsuspended the account", res.Outcome, res.OutcomeDetail)
	}
	if undo := workflows.UndoCalls(res.Steps, res.Holds, compileCatalog()); len(undo) != 0 {
		t.Errorf("rollback would call %+v, want nothing (the run undid its suspension)", undo)
	}
}
