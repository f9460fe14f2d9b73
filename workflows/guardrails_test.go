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
	"go.temporal.io/sdk/testsuite"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

const containPlaybook = `apiVersion: riposte/v1
name: contain
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: crowdstrike.contain_host
    with: {hostname: "${{ detection.device.hostname }}"}
    %s
`

// vendorFake counts contain and undo calls. Its actions answer a
// guardrail check inside the call (RevGuardInCall) with check, as a
// worker's do (activities.CheckedAction).
type vendorFake struct {
	mu    sync.Mutex
	calls []catalog.Call
	check activities.CheckFunc
	// requests are the guardrail requests policyHarness's decide saw.
	requests []workflows.PolicyCheck
	// checks counts the separate checks (the local activity), inCall the
	// checks inside contain calls.
	checks, inCall int
	// checkedTypes are the activity types of the calls that checked.
	checkedTypes []string
}

func (v *vendorFake) register(env *testsuite.TestWorkflowEnvironment, names ...string) {
	for _, n := range names {
		fn := activities.CheckedAction(v.checkInCall, func(_ context.Context, c catalog.Call) (map[string]any, error) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.calls = append(v.calls, c)
			return map[string]any{"device_id": "aid-1"}, nil
		})
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: n})
		env.RegisterActivityWithOptions(activities.RequireGuardrail(fn), activity.RegisterOptions{Name: catalog.CheckedActivity(n)})
	}
}

func (v *vendorFake) checkInCall(ctx context.Context, req workflows.PolicyCheck) (policy.Decision, error) {
	v.mu.Lock()
	v.inCall++
	v.checkedTypes = append(v.checkedTypes, activity.GetInfo(ctx).ActivityType.Name)
	check := v.check
	v.mu.Unlock()
	if check == nil {
		return policy.Decision{}, errors.New("no guardrails in this test")
	}
	return check(ctx, req)
}

func (v *vendorFake) count(action string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for _, c := range v.calls {
		if c.Action == action {
			n++
		}
	}
	return n
}

func policyHarness(t *testing.T, decide func(workflows.PolicyCheck) policy.Decision) (*harness, *vendorFake, *gateFake) {
	h := newHarness(t)
	v := &vendorFake{}
	record := func(req workflows.PolicyCheck) policy.Decision {
		v.mu.Lock()
		v.requests = append(v.requests, req)
		v.mu.Unlock()
		return decide(req)
	}
	v.check = func(_ context.Context, req workflows.PolicyCheck) (policy.Decision, error) { return record(req), nil }
	v.register(h.env, "crowdstrike.contain_host", "crowdstrike.lift_containment")
	f := &gateFake{}
	f.register(h.env)
	h.env.RegisterActivityWithOptions(func(_ context.Context, req workflows.PolicyCheck) (policy.Decision, error) {
		v.mu.Lock()
		v.checks++
		v.mu.Unlock()
		return record(req), nil
	}, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
	return h, v, f
}

func TestContainNeedsApprovalByDefault(t *testing.T) {
	h, v, f := policyHarness(t, func(workflows.PolicyCheck) policy.Decision { return policy.Decision{Decision: policy.Allow} })
	var ok string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "USOC"}, &ok)
	res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "", 1)), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.opened) != 1 || !strings.Contains(f.opened[0].Why, "is a contain action") || v.count("crowdstrike.contain_host") != 1 {
		t.Errorf("opened %+v, calls %d", f.opened, v.count("crowdstrike.contain_host"))
	}
	wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
}

// forRevs runs a test of an auto contain step at the inline revision
// (the guardrails checked in a local activity before the call) and at the
// latest (checked inside the call, RevGuardInCall): the outcome must be
// the same.
func forRevs(t *testing.T, fn func(t *testing.T, rev int)) {
	for _, rev := range []int{workflows.CurrentRev, workflows.RevGuardInCall, workflows.LatestRev} {
		t.Run(fmt.Sprintf("rev %d", rev), func(t *testing.T) { fn(t, rev) })
	}
}

// checkedWhere says where the guardrails were asked: once, by the
// separate check before RevGuardInCall, inside each contain call from it
// on.
func checkedWhere(t *testing.T, v *vendorFake, rev int) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	if rev >= workflows.RevGuardInCall {
		if v.checks != 0 || v.inCall == 0 {
			t.Errorf("revision %d: %d separate checks, %d inside calls; want none separate", rev, v.checks, v.inCall)
		}
	} else if v.checks != 1 || v.inCall != 0 {
		t.Errorf("revision %d: %d separate checks, %d inside calls; want one separate", rev, v.checks, v.inCall)
	}
	// From RevCheckedActivity the checked call has its own activity type.
	for _, typ := range v.checkedTypes {
		if checked := strings.HasSuffix(typ, catalog.CheckedSuffix); checked != (rev >= workflows.RevCheckedActivity) {
			t.Errorf("revision %d: a checked call ran as %s", rev, typ)
		}
	}
}

func TestGuardrailForcesGateOverAuto(t *testing.T) {
	for _, approve := range []bool{false, true} {
		t.Run(map[bool]string{false: "denied", true: "approved"}[approve], func(t *testing.T) {
			forRevs(t, func(t *testing.T, rev int) {
				h, v, f := policyHarness(t, func(workflows.PolicyCheck) policy.Decision {
					return policy.Decision{Decision: policy.Gate, Rule: "protected_asset", Why: "host fin-ws-042 matches protected pattern"}
				})
				h.rev = rev
				var vote string
				h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: approve, User: "USOC", Reason: "protected"}, &vote)
				res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto", 1)), det)
				if seen := v.requests; len(seen) != 1 || !seen[0].Auto || seen[0].Params["hostname"] != "fin-ws-042" {
					t.Errorf("policy requests = %+v", seen)
				}
				checkedWhere(t, v, rev)
				if len(f.opened) != 1 || !strings.HasPrefix(f.opened[0].Why, "policy protected_asset:") {
					t.Errorf("gate = %+v", f.opened)
				}
				st := stepOf(res, "isolate")
				if st.Guardrail == nil || st.Guardrail.Rule != "protected_asset" {
					t.Errorf("guardrail not recorded: %+v", st.Guardrail)
				}
				if !approve {
					wantStatuses(t, res, map[string]string{"isolate": "denied"})
					if n := v.count("crowdstrike.contain_host"); n != 0 {
						t.Errorf("the action ran %d times though the gate was denied", n)
					}
					return
				}
				wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
				if n := v.count("crowdstrike.contain_host"); n != 1 {
					t.Errorf("approved: %d calls, output %v", n, st.Output)
				}
				if _, ok := st.Output.(map[string]any)[catalog.GuardrailKey]; ok || st.Output.(map[string]any)["device_id"] != "aid-1" {
					t.Errorf("output %v, want the action's alone", st.Output)
				}
			})
		})
	}
}

// TestForEachProtectedItemGatesTheStep: an automatic for_each contain
// step is checked once with every item's params ({"items": [...]}); the
// real policy finds the protected host among them, so the step's one gate
// opens and no item, protected or not, is contained without a human.
func TestForEachProtectedItemGatesTheStep(t *testing.T) {
	p, err := policy.Parse("policy.yaml", []byte("protected: {hosts: [\"dc-*\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	h, v, f := policyHarness(t, func(req workflows.PolicyCheck) policy.Decision { return p.Evaluate(req.Request, false) })
	var vote string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: false, User: "USOC", Reason: "domain controller"}, &vote)
	res, _ := h.run(compileYAML(t, `apiVersion: riposte/v1
name: contain-many
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: crowdstrike.contain_host
    for_each: ${{ ["fin-ws-042", "dc-01", "fin-ws-043"] }}
    with: {hostname: "${{ item }}"}
    approval: auto
`), det)
	if len(f.opened) != 1 || !strings.HasPrefix(f.opened[0].Why, "policy protected_asset: host dc-01 ") {
		t.Errorf("gate = %+v", f.opened)
	}
	if n := v.count("crowdstrike.contain_host"); n != 0 {
		t.Errorf("%d hosts contained though the gate was denied", n)
	}
	wantStatuses(t, res, map[string]string{"isolate": "denied"})
}

func TestGuardrailRefuse(t *testing.T) {
	forRevs(t, func(t *testing.T, rev int) {
		h, v, f := policyHarness(t, func(workflows.PolicyCheck) policy.Decision {
			return policy.Decision{Decision: policy.Refuse, Rule: "protected_asset", Why: "db host"}
		})
		h.rev = rev
		res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto", 1)), det)
		wantStatuses(t, res, map[string]string{"isolate": "denied"})
		checkedWhere(t, v, rev)
		if len(f.opened) != 0 || v.count("crowdstrike.contain_host") != 0 || !strings.Contains(stepOf(res, "isolate").Reason, "refused by policy") {
			t.Errorf("refusal did not hold: %+v", stepOf(res, "isolate"))
		}
	})
}

func TestAutoContainRunsWhenPolicyAllows(t *testing.T) {
	forRevs(t, func(t *testing.T, rev int) {
		h, v, f := policyHarness(t, func(workflows.PolicyCheck) policy.Decision {
			return policy.Decision{Decision: policy.Allow, Rule: "budget", Why: "budget crowdstrike.contain_host: 1 of 5 per 1h0m0s used"}
		})
		h.rev = rev
		res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto", 1)), det)
		if err != nil {
			t.Fatal(err)
		}
		wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
		checkedWhere(t, v, rev)
		st := stepOf(res, "isolate")
		if len(f.opened) != 0 || v.count("crowdstrike.contain_host") != 1 || st.Guardrail == nil || st.Guardrail.Rule != "budget" {
			t.Errorf("auto containment: gates %d, calls %d, guardrail %+v", len(f.opened), v.count("crowdstrike.contain_host"), st.Guardrail)
		}
		if o, _ := st.Output.(map[string]any); len(o) != 1 || o["device_id"] != "aid-1" {
			t.Errorf("output %v, want the action's alone", st.Output)
		}
		// The rules read the same facts either way: the whole finding
		// before, its confidence and tags inside the call.
		seen := v.requests
		if len(seen) != 1 {
			t.Fatalf("%d checks", len(seen))
		}
		if rev >= workflows.RevGuardInCall {
			if f := seen[0].Facts; f == nil || seen[0].Detection != nil || seen[0].Finding != nil {
				t.Errorf("check inside the call carries %+v", seen[0].Request)
			}
		} else if seen[0].Facts != nil || seen[0].Detection == nil {
			t.Errorf("separate check carries %+v", seen[0].Request)
		}
	})
}

// A check inside the call that keeps failing gates the step once the
// step's attempts run out, as a separate check that fails does.
func TestGuardrailUnavailableGates(t *testing.T) {
	forRevs(t, func(t *testing.T, rev int) {
		h := newHarness(t)
		h.rev = rev
		v := &vendorFake{check: func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
			return policy.Decision{}, errors.New("guard unreachable")
		}}
		v.register(h.env, "crowdstrike.contain_host")
		f := &gateFake{}
		f.register(h.env)
		h.env.RegisterActivityWithOptions(func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
			return policy.Decision{}, errors.New("guard unreachable")
		}, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
		var vote string
		h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "USOC"}, &vote)
		res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto\n    retry: {max_attempts: 2, initial_interval: 100ms}", 1)), det)
		st := stepOf(res, "isolate")
		if len(f.opened) != 1 || st.Guardrail == nil || st.Guardrail.Rule != "guardrails_unavailable" || !strings.Contains(st.Guardrail.Why, "guard unreachable") {
			t.Errorf("gates %+v, guardrail %+v", f.opened, st.Guardrail)
		}
		// Inside the call: each of the step's 2 attempts tried 3 times,
		// then the gate.
		if rev >= workflows.RevGuardInCall && v.inCall != 6 {
			t.Errorf("%d checks inside calls, want 6 (2 attempts of 3)", v.inCall)
		}
		wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
		if n := v.count("crowdstrike.contain_host"); n != 1 {
			t.Errorf("%d contain calls after approval, want 1", n)
		}
	})
}

func TestContainForReleasesAndExtends(t *testing.T) {
	h, v, _ := policyHarness(t, func(workflows.PolicyCheck) policy.Decision { return policy.Decision{Decision: policy.Allow} })
	var extendErr, badErr string
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateExtend, "x1", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { extendErr = err.Error() }, OnComplete: func(any, error) {},
		}, h.sealExtend(workflows.ExtendRequest{Step: "isolate", By: 2 * 60 * 60 * 1e9, User: "USOC"}))
		h.env.UpdateWorkflow(workflows.UpdateExtend, "x2", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { badErr = err.Error() }, OnComplete: func(any, error) {},
		}, h.sealExtend(workflows.ExtendRequest{Step: "nope", By: 1e9, User: "USOC"}))
	}, time.Hour)
	start := h.env.Now()
	res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto\n    contain_for: 4h", 1)), det)
	if err != nil {
		t.Fatal(err)
	}
	if extendErr != "" || !strings.Contains(badErr, "holds no time-boxed containment") {
		t.Errorf("extend: %q / %q", extendErr, badErr)
	}
	if v.count("crowdstrike.lift_containment") != 1 || len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil {
		t.Fatalf("release: %d calls, holds %+v", v.count("crowdstrike.lift_containment"), res.Holds)
	}
	if got := res.Holds[0].ReleasedAt.Sub(start); got < 6*time.Hour || got > 6*time.Hour+time.Minute {
		t.Errorf("released after %s, want 6h (4h + 2h extension)", got)
	}
	if p := v.calls[len(v.calls)-1].Params["hostname"]; p != "fin-ws-042" {
		t.Errorf("undo params = %v", v.calls[len(v.calls)-1].Params)
	}
}

// extend sends an extension Update at the given delay; a request without
// a seal is sealed then (as the API does just before sending it). Each
// refusal is appended to errs.
func (h *harness) extend(after time.Duration, id string, req *workflows.ExtendRequest, errs *[]string) {
	h.env.RegisterDelayedCallback(func() {
		if req.Seal == nil {
			*req = h.sealExtend(*req)
		}
		h.env.UpdateWorkflow(workflows.UpdateExtend, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { *errs = append(*errs, id+": "+err.Error()) }, OnComplete: func(any, error) {},
		}, *req)
	}, after)
}

// An accepted extension is in the run's history, sealed. Sent again
// unchanged it is refused (as a replay while its seal is fresh, as stale
// after signing.MaxAge): one "extend by 1h" cannot keep a host contained
// indefinitely in its signer's name.
func TestExtendSealUsedOnce(t *testing.T) {
	h, v, _ := policyHarness(t, func(workflows.PolicyCheck) policy.Decision { return policy.Decision{Decision: policy.Allow} })
	req := &workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(time.Hour), User: "USOC"}
	var errs []string
	for i := range 4 {
		h.extend(time.Hour+time.Duration(i)*time.Minute, fmt.Sprint("x", i), req, &errs)
	}
	h.extend(3*time.Hour, "x-later", req, &errs)
	start := h.env.Now()
	res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto\n    contain_for: 4h", 1)), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Holds) != 1 || len(res.Holds[0].Extensions) != 1 {
		t.Fatalf("holds = %+v; want the extension applied once", res.Holds)
	}
	if len(errs) != 4 || !strings.Contains(errs[0], "replayed signed request") || !strings.Contains(errs[2], "replayed signed request") ||
		!strings.HasPrefix(errs[3], "x-later: ") || !strings.Contains(errs[3], "stale signed request") {
		t.Errorf("refusals = %q", errs)
	}
	if got := res.Holds[0].ReleasedAt.Sub(start); got < 5*time.Hour || got > 5*time.Hour+time.Minute || v.count("crowdstrike.lift_containment") != 1 {
		t.Errorf("released after %s (%d undo calls), want 5h (4h + 1h once)", got, v.count("crowdstrike.lift_containment"))
	}
	h.audited("audit: extend update refused", "replayed signed request", "replayed signed request", "replayed signed request", "stale signed request")
}

// An extension sealed longer than signing.MaxAge before it arrives is
// refused even if it was never used.
func TestExtendSealMustBeFresh(t *testing.T) {
	h, _, _ := policyHarness(t, func(workflows.PolicyCheck) policy.Decision { return policy.Decision{Decision: policy.Allow} })
	var errs []string
	// Signed when the run starts, delivered after signing.MaxAge.
	req := h.sealExtend(workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(time.Hour), User: "USOC"})
	h.extend(signing.MaxAge+time.Minute, "late", &req, &errs)
	res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto\n    contain_for: 4h", 1)), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "stale signed request") || len(res.Holds) != 1 || len(res.Holds[0].Extensions) != 0 {
		t.Errorf("refusals %q, holds %+v", errs, res.Holds)
	}
}

// An extension is refused once the hold's release has begun: here the
// timer fires at 4h and the undo fails once (retried 5s later); an
// extension at 4h+2s must not answer "releases at 6h" while the host is
// un-isolated at 4h.
func TestExtendRefusedDuringRelease(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	var mu sync.Mutex
	undos := 0
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		undos++
		if undos == 1 {
			return nil, errors.New("503 from the vendor")
		}
		return map[string]any{}, nil
	})
	var errs []string
	h.extend(4*time.Hour+2*time.Second, "during", &workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(2 * time.Hour), User: "USOC"}, &errs)
	start := h.env.Now()
	res, err := h.run(compileYAML(t, holdPlaybook), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil || undos != 2 {
		t.Fatalf("holds %+v, %d undo attempts", res.Holds, undos)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "the containment of step isolate is being released") {
		t.Errorf("extension during the release: %q", errs)
	}
	if got := res.Holds[0].ReleasedAt.Sub(start); got > 4*time.Hour+time.Minute || len(res.Holds[0].Extensions) != 0 {
		t.Errorf("released after %s, extensions %q", got, res.Holds[0].Extensions)
	}
	h.audited("audit: extend update refused", "is being released")
}

func TestRollbackUndoesNewestFirst(t *testing.T) {
	h := newHarness(t)
	v := &vendorFake{}
	v.register(h.env, "crowdstrike.lift_containment", "okta.unsuspend_user")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	steps := []workflows.StepResult{
		{ID: "isolate", Action: "crowdstrike.contain_host", Status: "succeeded", Params: map[string]any{"hostname": "h1"}, EndedAt: &t0},
		{ID: "suspend", Action: "okta.suspend_user", Status: "succeeded", Params: map[string]any{"user": "u1"}, EndedAt: &t1},
		{ID: "lookup", Action: "core.noop", Status: "succeeded", EndedAt: &t1},
		{ID: "denied", Action: "crowdstrike.contain_host", Status: "denied"},
	}
	undo := workflows.UndoCalls(steps, nil, compileCatalog())
	if len(undo) != 2 || undo[0].Step != "suspend" || undo[1].Undo != "crowdstrike.lift_containment" {
		t.Fatalf("undo = %+v", undo)
	}
	in := workflows.RollbackInput{WorkflowID: "w1", Undo: undo, Requester: "USOC", Via: workflows.ViaAPI}
	in = sealRollback(t, h, in, h.env.Now())
	h.env.ExecuteWorkflow(workflows.RollbackWorkflow, in)
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(v.calls) != 2 || v.calls[0].Action != "okta.unsuspend_user" || v.calls[1].Params["hostname"] != "h1" || !strings.HasPrefix(v.calls[0].IdempotencyKey, "rollback:w1/") {
		t.Errorf("calls = %+v", v.calls)
	}
}

// sealExtend signs an extension as the API does, at the test clock's now:
// call it when the extension is sent (seals are used fresh).
func (h *harness) sealExtend(req workflows.ExtendRequest) workflows.ExtendRequest {
	req.Via = workflows.ViaAPI
	req.Seal = h.keys.Sign(workflows.ExtendClaim(testWorkflowID, req), h.env.Now())
	return req
}
