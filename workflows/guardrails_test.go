package workflows_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/policy"
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

// vendorFake counts contain and undo calls.
type vendorFake struct {
	mu    sync.Mutex
	calls []catalog.Call
}

func (v *vendorFake) register(env *testsuite.TestWorkflowEnvironment, names ...string) {
	for _, n := range names {
		env.RegisterActivityWithOptions(func(_ context.Context, c catalog.Call) (map[string]any, error) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.calls = append(v.calls, c)
			return map[string]any{"device_id": "aid-1"}, nil
		}, activity.RegisterOptions{Name: n})
	}
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
	v.register(h.env, "crowdstrike.contain_host", "crowdstrike.lift_containment")
	f := &gateFake{}
	f.register(h.env)
	h.env.RegisterActivityWithOptions(func(_ context.Context, req workflows.PolicyCheck) (policy.Decision, error) {
		return decide(req), nil
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

func TestGuardrailForcesGateOverAuto(t *testing.T) {
	var seen workflows.PolicyCheck
	h, v, f := policyHarness(t, func(req workflows.PolicyCheck) policy.Decision {
		seen = req
		return policy.Decision{Decision: policy.Gate, Rule: "protected_asset", Why: "host fin-ws-042 matches protected pattern"}
	})
	var deny string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: false, User: "USOC", Reason: "protected"}, &deny)
	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto", 1)), det)
	if !seen.Auto || seen.Params["hostname"] != "fin-ws-042" {
		t.Errorf("policy request = %+v", seen)
	}
	if len(f.opened) != 1 || !strings.HasPrefix(f.opened[0].Why, "policy protected_asset:") {
		t.Errorf("gate = %+v", f.opened)
	}
	wantStatuses(t, res, map[string]string{"isolate": "denied"})
	st := stepOf(res, "isolate")
	if st.Guardrail == nil || st.Guardrail.Rule != "protected_asset" || v.count("crowdstrike.contain_host") != 0 {
		t.Errorf("guardrail not recorded or action ran: %+v, %d calls", st.Guardrail, v.count("crowdstrike.contain_host"))
	}
}

func TestGuardrailRefuse(t *testing.T) {
	h, v, f := policyHarness(t, func(workflows.PolicyCheck) policy.Decision {
		return policy.Decision{Decision: policy.Refuse, Rule: "protected_asset", Why: "db host"}
	})
	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto", 1)), det)
	wantStatuses(t, res, map[string]string{"isolate": "denied"})
	if len(f.opened) != 0 || v.count("crowdstrike.contain_host") != 0 || !strings.Contains(stepOf(res, "isolate").Reason, "refused by policy") {
		t.Errorf("refusal did not hold: %+v", stepOf(res, "isolate"))
	}
}

func TestAutoContainRunsWhenPolicyAllows(t *testing.T) {
	h, v, f := policyHarness(t, func(workflows.PolicyCheck) policy.Decision {
		return policy.Decision{Decision: policy.Allow, Rule: "budget", Why: "budget crowdstrike.contain_host: 1 of 5 per 1h0m0s used"}
	})
	res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto", 1)), det)
	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, res, map[string]string{"isolate": "succeeded"})
	if len(f.opened) != 0 || v.count("crowdstrike.contain_host") != 1 || stepOf(res, "isolate").Guardrail.Rule != "budget" {
		t.Errorf("auto containment: gates %d, calls %d", len(f.opened), v.count("crowdstrike.contain_host"))
	}
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
	undo := workflows.UndoCalls(steps, compileCatalog())
	if len(undo) != 2 || undo[0].Step != "suspend" || undo[1].Undo != "crowdstrike.lift_containment" {
		t.Fatalf("undo = %+v", undo)
	}
	in := workflows.RollbackInput{WorkflowID: "w1", Undo: undo, Requester: "USOC", Via: workflows.ViaAPI}
	in.Seal = h.keys.Sign(workflows.RollbackClaim(in), time.Unix(1700000000, 0))
	h.env.ExecuteWorkflow(workflows.RollbackWorkflow, in)
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(v.calls) != 2 || v.calls[0].Action != "okta.unsuspend_user" || v.calls[1].Params["hostname"] != "h1" || !strings.HasPrefix(v.calls[0].IdempotencyKey, "rollback:w1/") {
		t.Errorf("calls = %+v", v.calls)
	}
}

func (h *harness) sealExtend(req workflows.ExtendRequest) workflows.ExtendRequest {
	req.Via = workflows.ViaAPI
	req.Seal = h.keys.Sign(workflows.ExtendClaim(testWorkflowID, req), time.Unix(1700000000, 0))
	return req
}
