package workflows_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// lifecyclePlaybook: a contain step runs at once (approval: auto), a
// second one waits for a human, a notify step follows.
const lifecyclePlaybook = `apiVersion: riposte/v1
name: lifecycle
version: 1
%s
trigger:
  when: "true"
steps:
  - id: suspend
    action: okta.suspend_user
    with: {user: "${{ primary_user(finding) }}"}
    approval: auto
  - id: isolate
    action: crowdstrike.contain_host
    needs: [suspend]
    with: {hostname: "${{ primary_host(finding) }}"}
    approval:
      approvers: {users: [U1]}
      timeout: 1h
  - id: ticket
    action: jira.create_issue
    needs: [isolate]
    if: "true"
    with: {summary: "done"}
`

type calls struct {
	mu   sync.Mutex
	list []string
}

func (c *calls) add(s string) { c.mu.Lock(); c.list = append(c.list, s); c.mu.Unlock() }

// allowPolicy registers a guardrail that allows every step.
func allowPolicy(h *harness) {
	h.env.RegisterActivityWithOptions(func(_ context.Context, req workflows.PolicyCheck) (policy.Decision, error) {
		return policy.Decision{Decision: policy.Allow}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
}

func lifecycleRun(t *testing.T, onWithdraw string, update workflows.FindingUpdate) (*workflows.Result, *calls, *gateFake) {
	t.Helper()
	h := newHarness(t)
	seen := h.record(map[string]any{"already": false}, "okta.suspend_user", "okta.unsuspend_user", "crowdstrike.contain_host", "jira.create_issue")
	f := &gateFake{}
	f.register(h.env)
	allowPolicy(h)
	src := lifecyclePlaybook
	if onWithdraw != "" {
		src = replaceOnce(src, "%s", "on_withdraw: "+onWithdraw)
	} else {
		src = replaceOnce(src, "%s", "")
	}
	c := compileYAML(t, src)
	det := map[string]any{"actor": map[string]any{"user": map[string]any{"email_addr": "j.doe@example.com"}}, "device": map[string]any{"hostname": "fin-ws-042"}}
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(update))
	}, 10*time.Minute)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det})
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	res, err := resultOf(h)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res, seen, f
}

func replaceOnce(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	return s
}

var withdrawal = workflows.FindingUpdate{Finding: map[string]any{"state": "withdrawn", "state_reason": "status_id is 4 (Resolved)", "severity": "High"}}

// withdrawAfter sends the sealed withdrawal after d of workflow time.
func (h *harness) withdrawAfter(d time.Duration) {
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(withdrawal))
	}, d)
}

// record answers each named action with out and lists its calls, in order.
func (h *harness) record(out map[string]any, names ...string) *calls {
	seen := &calls{}
	for _, name := range names {
		h.action(name, func(context.Context, catalog.Call) (map[string]any, error) {
			seen.add(name)
			return maps.Clone(out), nil
		})
	}
	return seen
}

func TestWithdrawalClosesGateAndFlagsContainment(t *testing.T) {
	res, seen, f := lifecycleRun(t, "", withdrawal)
	st := statuses(res)
	if st["suspend"] != "succeeded" || st["isolate"] != "skipped" || st["ticket"] != "succeeded" {
		t.Errorf("statuses %v", st)
	}
	isolate := stepOf(res, "isolate")
	if isolate.Gate == nil || isolate.Gate.State != workflows.GateWithdrawn {
		t.Errorf("gate %+v", isolate.Gate)
	}
	for _, c := range seen.list {
		if c == "crowdstrike.contain_host" || c == "okta.unsuspend_user" {
			t.Errorf("%s called after the withdrawal (review mode)", c)
		}
	}
	w := res.Withdrawn
	if w == nil || len(w.Review) != 1 || w.Review[0] != "suspend" || len(w.Gates) != 1 || w.Gates[0] != "isolate" || len(w.RolledBack) != 0 {
		t.Errorf("withdrawn %+v", w)
	}
	if res.Outcome != workflows.OutcomeWithdrawn {
		t.Errorf("outcome %q", res.Outcome)
	}
	// The approval message was updated to say withdrawn.
	last := f.updates[len(f.updates)-1]
	if last.Gate.State != workflows.GateWithdrawn {
		t.Errorf("last message update: %+v", last.Gate)
	}
}

func TestWithdrawalWithRollback(t *testing.T) {
	res, seen, _ := lifecycleRun(t, "rollback", withdrawal)
	undone := false
	for _, c := range seen.list {
		if c == "okta.unsuspend_user" {
			undone = true
		}
	}
	w := res.Withdrawn
	if !undone || w == nil || len(w.Review) != 0 || len(w.RolledBack) != 1 || w.RolledBack[0].Step != "suspend" || w.RolledBack[0].Status != "succeeded" {
		t.Errorf("calls %v, withdrawn %+v", seen.list, w)
	}
}

// updateHarness runs lifecyclePlaybook with every action succeeding and
// the policy allowing.
func updateHarness(t *testing.T) (*harness, *playbook.Compiled) {
	h := newHarness(t)
	for _, name := range []string{"okta.suspend_user", "crowdstrike.contain_host", "jira.create_issue"} {
		h.action(name, func(_ context.Context, call catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	}
	f := &gateFake{}
	f.register(h.env)
	allowPolicy(h)
	return h, compileYAML(t, replaceOnce(lifecyclePlaybook, "%s", ""))
}

func TestUpdateRaisesTheView(t *testing.T) {
	hosts := []any{map[string]any{"value": "h**x**[y](http://z)`", "source": "device.hostname"}}
	view := map[string]any{"state": "active", "severity": "Medium", "confidence": 50.0, "hosts": hosts}
	up := workflows.FindingUpdate{Finding: map[string]any{"state": "active", "severity": "Critical", "confidence": 95.0, "hosts": hosts}}
	h, c := updateHarness(t)
	det := map[string]any{"severity_id": 3, "confidence_score": 50, "device": map[string]any{"hostname": "h"}}
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(up)) }, 5*time.Minute)
	// A lower record after it changes nothing.
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(workflows.FindingUpdate{Finding: map[string]any{"state": "active", "severity": "Low", "confidence": 10.0}}))
	}, 6*time.Minute)
	// The Temporal UI's current details show the updated view while the
	// gate waits (an attacker-chosen host name only as inline code).
	var details string
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow("__temporal_workflow_metadata")
		if err != nil {
			t.Errorf("metadata query: %v", err)
			return
		}
		var md sdkpb.WorkflowMetadata
		if err := v.Get(&md); err != nil {
			t.Errorf("metadata: %v", err)
		}
		details = md.GetCurrentDetails()
	}, 7*time.Minute)
	var d string
	h.vote(20*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "U1"}, &d)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, Finding: view, Rev: workflows.RevWithdrawnAtStart})
	res, err := resultOf(h)
	if err != nil || d != "" {
		t.Fatalf("run: %v %s", err, d)
	}
	for _, want := range []string{
		"Finding: severity `Critical`, confidence 95%, state `active`",
		"- hosts: `h**x**[y](http://z)`",
		"- updated by the detector 1 time(s), last at ",
		"Z: severity `Critical`, confidence 95%\n",
	} {
		if !strings.Contains(details, want) {
			t.Errorf("current details lack %q:\n%s", want, details)
		}
	}
	if len(res.FindingChanges) != 1 || res.FindingChanges[0].Severity != "Critical" || res.Finding["confidence"] != 95.0 {
		t.Errorf("changes %+v finding %v", res.FindingChanges, res.Finding)
	}
	if res.Withdrawn != nil {
		t.Errorf("withdrawn %+v", res.Withdrawn)
	}
}

// partialWithdrawPlaybook isolates two hosts (h2 fails, the run carries on)
// while a second containment waits for a human; the finding is withdrawn
// meanwhile.
const partialWithdrawPlaybook = `apiVersion: riposte/v1
name: partial
version: 1
%s
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    for_each: '${{ ["h1", "h2"] }}'
    with: {hostname: "${{ item }}"}
    approval: auto
    on_failure: continue
  - id: contain
    action: crowdstrike.contain_host
    with: {hostname: "h3"}
    approval:
      approvers: {users: [U1]}
      timeout: 1h
`

// partialWithdrawRun runs partialWithdrawPlaybook and withdraws the finding
// after 10 minutes; legacy runs it as a history recorded before
// changeUndoPartialItems. It returns the result and the undo calls made.
func partialWithdrawRun(t *testing.T, onWithdraw string, legacy bool) (*workflows.Result, []catalog.Call) {
	t.Helper()
	h, _ := outcomeHarness(t, false)
	isolateFailsOn(h, "h2")
	var mu sync.Mutex
	var undone []catalog.Call
	h.action("defender.unisolate_machine", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		undone = append(undone, call)
		return map[string]any{}, nil
	})
	h.action("crowdstrike.contain_host", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	if legacy {
		h.env.OnGetVersion("rollback-partial-items", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	h.withdrawAfter(10 * time.Minute)
	res, err := h.run(compileYAML(t, replaceOnce(partialWithdrawPlaybook, "%s", "on_withdraw: "+onWithdraw)), det)
	if err != nil {
		t.Fatal(err)
	}
	if res.Withdrawn == nil || stepOf(res, "isolate").Status != "failed" {
		t.Fatalf("withdrawn %+v, isolate %s", res.Withdrawn, stepOf(res, "isolate").Status)
	}
	return res, undone
}

// h1 was isolated by a step whose other item failed: a withdrawal lists it
// for review, or undoes it with on_withdraw: rollback.
func TestWithdrawalCoversPartlyFailedForEach(t *testing.T) {
	t.Run("review", func(t *testing.T) {
		res, undone := partialWithdrawRun(t, "review", false)
		if w := res.Withdrawn; len(w.Review) != 1 || w.Review[0] != "isolate" || len(undone) != 0 {
			t.Errorf("review %v, undo calls %+v; want isolate for review, nothing undone", w.Review, undone)
		}
	})
	t.Run("rollback", func(t *testing.T) {
		res, undone := partialWithdrawRun(t, "rollback", false)
		w := res.Withdrawn
		if len(undone) != 1 || undone[0].Params["hostname"] != "h1" || undone[0].DryRun {
			t.Errorf("undo calls %+v, want the undo of h1", undone)
		}
		if len(w.RolledBack) != 1 || w.RolledBack[0].Step != "isolate" || w.RolledBack[0].Status != "succeeded" || len(w.Review) != 0 {
			t.Errorf("withdrawn %+v", *w)
		}
	})
	// Histories recorded before the change replay as they ran.
	t.Run("recorded before", func(t *testing.T) {
		res, undone := partialWithdrawRun(t, "rollback", true)
		if w := res.Withdrawn; len(w.Review) != 0 || len(w.RolledBack) != 0 || len(undone) != 0 {
			t.Errorf("withdrawn %+v, undo calls %+v; want the old behaviour (nothing)", *w, undone)
		}
	})
}

// twoHoldsPlaybook holds a host for 4h and a user for 8h.
const twoHoldsPlaybook = `apiVersion: riposte/v1
name: twoholds
version: 1
on_withdraw: rollback
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "h1"}
    approval: auto
    contain_for: 4h
  - id: suspend
    action: okta.suspend_user
    with: {user: "j@example.com"}
    approval: auto
    contain_for: 8h
`

// A withdrawal after the host's hold was released (4h) undoes only what is
// still in place (the user); histories recorded before the change replay
// as they ran (the host undone a second time).
func TestWithdrawalRollbackSkipsReleasedHolds(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		h, _ := outcomeHarness(t, false)
		seen := h.record(map[string]any{}, "okta.suspend_user", "okta.unsuspend_user", "defender.unisolate_machine")
		if legacy {
			h.env.OnGetVersion("rollback-released-holds", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		h.withdrawAfter(5 * time.Hour)
		res, err := h.run(compileYAML(t, twoHoldsPlaybook), det)
		if err != nil {
			t.Fatal(err)
		}
		unisolate := 0
		for _, c := range seen.list {
			if c == "defender.unisolate_machine" {
				unisolate++
			}
		}
		want := 1
		if legacy {
			want = 2
		}
		w := res.Withdrawn
		if unisolate != want || w == nil || len(w.RolledBack) != want {
			t.Errorf("recorded before the change %v: host released %d times (want %d), withdrawn %+v", legacy, unisolate, want, w)
		}
	}
}

// A suspension the run undid itself is not left for review when the
// finding is withdrawn; histories recorded before the change list both
// steps, as they did.
func TestWithdrawalReviewSkipsContainmentUndoneInRun(t *testing.T) {
	const waiting = `  - id: isolate
    action: crowdstrike.contain_host
    with: {hostname: "h3"}
    approval:
      approvers: {users: [U1]}
      timeout: 1h
`
	for _, legacy := range []bool{false, true} {
		h := selfUndoHarness(t)
		if legacy {
			h.env.OnGetVersion("rollback-undone-in-run", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		h.withdrawAfter(10 * time.Minute)
		res, err := h.run(compileYAML(t, strings.Replace(selfUndoPlaybook, "%s", waiting, 1)), det)
		if err != nil {
			t.Fatal(err)
		}
		want := ""
		if legacy {
			want = "suspend,rollback"
		}
		if w := res.Withdrawn; w == nil || strings.Join(w.Review, ",") != want {
			t.Errorf("recorded before the change %v: withdrawn %+v, want review %q", legacy, w, want)
		}
	}
}

const inflightPlaybook = `apiVersion: riposte/v1
name: inflight
version: 1
on_withdraw: %s
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "${{ detection.device.hostname }}"}
    approval: auto
    retry: {max_attempts: 2, initial_interval: 1h}
`

// The isolation is retrying when the finding is withdrawn, then succeeds:
// the host is isolated after the withdrawal. The withdrawal's review lists
// it, or on_withdraw: rollback undoes it; histories recorded before the
// change leave it unflagged, as they did.
func TestWithdrawalCoversContainmentInFlight(t *testing.T) {
	for _, tc := range []struct {
		mode           string
		legacy         bool
		review, undone int
	}{
		{"review", false, 1, 0},
		{"rollback", false, 0, 1},
		{"rollback", true, 0, 0},
	} {
		t.Run(fmt.Sprintf("%s legacy=%v", tc.mode, tc.legacy), func(t *testing.T) {
			h, _ := outcomeHarness(t, false)
			var mu sync.Mutex
			attempts, undone := 0, 0
			h.action("defender.isolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
				mu.Lock()
				defer mu.Unlock()
				if attempts++; attempts == 1 {
					return nil, fmt.Errorf("503 from the vendor") // retried in 1h
				}
				return map[string]any{"status": "isolated"}, nil
			})
			h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
				mu.Lock()
				defer mu.Unlock()
				undone++
				return map[string]any{}, nil
			})
			if tc.legacy {
				h.env.OnGetVersion("withdraw-late-containment", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			h.withdrawAfter(30 * time.Minute)
			res, err := h.run(compileYAML(t, fmt.Sprintf(inflightPlaybook, tc.mode)), det)
			if err != nil {
				t.Fatal(err)
			}
			if stepOf(res, "isolate").Status != "succeeded" || attempts != 2 {
				t.Fatalf("the call did not straddle the withdrawal: %s after %d attempts", stepOf(res, "isolate").Status, attempts)
			}
			w := res.Withdrawn
			if w == nil || len(w.Review) != tc.review || len(w.RolledBack) != tc.undone || undone != tc.undone {
				t.Errorf("withdrawn %+v, undo calls %d; want %d reviewed, %d undone", w, undone, tc.review, tc.undone)
			}
		})
	}
}

const preexistingThenGatePlaybook = `apiVersion: riposte/v1
name: preexisting
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "h1"}
    approval: auto
  - id: suspend
    action: okta.suspend_user
    needs: [isolate]
    with: {user: "j@example.com"}
    approval:
      approvers: {users: [U1]}
      timeout: 1h
`

// A withdrawal does not list for review a containment the run found
// already in place (someone else applied it); histories recorded before
// listed it.
func TestWithdrawalReviewSkipsContainmentAlreadyInPlace(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			h, _ := outcomeHarness(t, false)
			h.action("defender.isolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
				return map[string]any{"machine_id": "m1", "already": true, catalog.OutputPreexisting: true}, nil
			})
			if legacy {
				h.env.OnGetVersion("rollback-preexisting", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			h.withdrawAfter(10 * time.Minute)
			res, err := h.run(compileYAML(t, preexistingThenGatePlaybook), det)
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			if legacy {
				want = "isolate"
			}
			if w := res.Withdrawn; w == nil || strings.Join(w.Review, ",") != want {
				t.Errorf("withdrawn %+v, want review %q", w, want)
			}
		})
	}
}

// A run started with a withdrawn finding (the intake records a Close that
// arrived before any record started a run, so that the late Create starts
// nothing) runs no step: no vendor is called, every step is skipped with
// the reason, and the outcome is withdrawn.
func TestRunStartedWithdrawnRunsNothing(t *testing.T) {
	h := newHarness(t)
	seen := h.record(map[string]any{"already": false}, "okta.suspend_user", "crowdstrike.contain_host", "jira.create_issue")
	f := &gateFake{}
	f.register(h.env)
	allowPolicy(h)
	c := compileYAML(t, replaceOnce(lifecyclePlaybook, "%s", ""))
	det := map[string]any{"status_id": 4, "device": map[string]any{"hostname": "fin-ws-042"}}
	view := map[string]any{"state": "withdrawn", "state_reason": "status_id is 4 (Resolved)", "severity": "High"}
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, Finding: view, Rev: workflows.RevWithdrawnAtStart})
	res, err := resultOf(h)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(seen.list) != 0 || len(f.opened) != 0 {
		t.Errorf("calls %v, gates %d: a withdrawn finding's run acted", seen.list, len(f.opened))
	}
	for _, s := range res.Steps {
		if s.Status != playbook.StatusSkipped || !strings.Contains(s.Reason, "before any record of it started this run") {
			t.Errorf("step %s: %s (%s); want skipped as withdrawn before the start", s.ID, s.Status, s.Reason)
		}
	}
	if res.Outcome != workflows.OutcomeWithdrawn || res.Withdrawn == nil || !res.Withdrawn.BeforeStart || res.Withdrawn.Reason != "status_id is 4 (Resolved)" {
		t.Errorf("outcome %s, withdrawn %+v", res.Outcome, res.Withdrawn)
	}
	// The worker's metrics count it as a withdrawal recorded, not a run.
	if !res.RecordsWithdrawal() {
		t.Error("RecordsWithdrawal() = false for a run started withdrawn")
	}
}

// An extension of a hold while a later step of the run still waits at its
// gate (holds-while-running) left the Temporal UI's current details saying
// "holding" until the next change: the run was waiting for approval (its
// RunStatus said so). The details keep the run's status.
func TestExtendWhileAGateWaitsKeepsTheDetailsStatus(t *testing.T) {
	h, _ := updateHarness(t)
	h.action("okta.unsuspend_user", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	c := compileYAML(t, replaceOnce(replaceOnce(lifecyclePlaybook, "%s", ""), "    approval: auto\n", "    approval: auto\n    contain_for: 4h\n"))
	var errs []string
	h.extend(5*time.Minute, "x1", &workflows.ExtendRequest{Step: "suspend", By: playbook.Duration(time.Hour), User: "USOC"}, &errs)
	var details string
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow("__temporal_workflow_metadata")
		if err != nil {
			t.Errorf("metadata query: %v", err)
			return
		}
		var md sdkpb.WorkflowMetadata
		if err := v.Get(&md); err != nil {
			t.Errorf("metadata: %v", err)
		}
		details = md.GetCurrentDetails()
	}, 6*time.Minute)
	var d string
	h.vote(20*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "U1"}, &d)
	det := map[string]any{"severity_id": 3, "device": map[string]any{"hostname": "h"}, "actor": map[string]any{"user": map[string]any{"name": "u@example.com"}}}
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, Rev: workflows.LatestRev})
	if _, err := resultOf(h); err != nil || d != "" || len(errs) != 0 {
		t.Fatalf("run: %v, vote %q, extend %v", err, d, errs)
	}
	if first, _, _ := strings.Cut(details, "\n"); first != "**lifecycle** v1 — "+playbook.StatusWaiting {
		t.Errorf("current details while the gate waits, after an extension, open with %q; want the run's status, %s:\n%s", first, playbook.StatusWaiting, details)
	}
}
