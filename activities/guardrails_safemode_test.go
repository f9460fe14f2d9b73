package activities

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// safeModeGuard stands for the Temporal client in front of riposte-guard:
// its query answers the safe-mode switch, or fails with queryErr. Listing
// the budget guards (visibility) always fails: the check must not need it.
type safeModeGuard struct {
	client.Client
	mu       sync.Mutex
	on       bool
	queryErr error
	queries  int
}

type guardStateValue struct{ st workflows.GuardState }

func (v guardStateValue) HasValue() bool { return true }
func (v guardStateValue) Get(p any) error {
	*(p.(*workflows.GuardState)) = v.st
	return nil
}

func (f *safeModeGuard) QueryWorkflow(_ context.Context, id, _ string, q string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != workflows.GuardWorkflowID || q != workflows.QueryGuard {
		return nil, errors.New("unexpected query " + id + " " + q)
	}
	f.queries++
	if f.queryErr != nil {
		return nil, f.queryErr
	}
	return guardStateValue{workflows.GuardState{SafeMode: f.on, SafeModeBy: "USOC"}}, nil
}

func (f *safeModeGuard) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return nil, errors.New("visibility: context deadline exceeded")
}

func autoContain(step string) workflows.PolicyCheck {
	conf := 95
	return workflows.PolicyCheck{Request: policy.Request{
		WorkflowID: "run-1", StepID: step, Action: "crowdstrike.contain_host",
		Params: map[string]any{"hostname": "fin-ws-042"}, Auto: true,
		Facts: &policy.Facts{Confidence: &conf},
	}}
}

// TestSafeModeIsReadAlone: the check reads the switch with the guard's
// query alone; budget guards it cannot list (a slow visibility store,
// unrelated to safe mode) no longer make it drop the "on" it just read
// for a cached "off".
func TestSafeModeIsReadAlone(t *testing.T) {
	f := &safeModeGuard{on: true}
	g := &Guardrails{Client: f, pol: &policy.Policy{}, SafeModeTTL: time.Minute}
	g.Budgets = NewBudgets(f, "q")
	d, err := g.Check(context.Background(), autoContain("isolate"))
	if err != nil || d.Decision != policy.Gate || d.Rule != "safe_mode" {
		t.Errorf("safe mode on in riposte-guard: %+v, %v; want a safe_mode gate", d, err)
	}
}

// TestSafeModeUnreadableFailsClosed: when riposte-guard cannot be read
// and the cached switch is older than its TTL, the check of a step that
// would run automatically fails (the check's failure becomes a
// guardrails_unavailable gate: a checked call fails retryably without
// acting), never a stale "off". A cached value within its TTL still
// answers; a guard never started is safe mode off; a step that goes to a
// human anyway does not need the switch.
func TestSafeModeUnreadableFailsClosed(t *testing.T) {
	ctx := context.Background()
	down := serviceerror.NewUnavailable("connection refused")
	newGuard := func(f *safeModeGuard) *Guardrails {
		g := &Guardrails{Client: f, pol: &policy.Policy{}, SafeModeTTL: time.Minute}
		g.Budgets = NewBudgets(f, "q")
		return g
	}

	t.Run("never read", func(t *testing.T) {
		g := newGuard(&safeModeGuard{queryErr: down})
		if d, err := g.Check(ctx, autoContain("isolate")); err == nil || !strings.Contains(err.Error(), "reading safe mode") {
			t.Errorf("got %+v, %v; want the check to fail", d, err)
		}
	})
	t.Run("cache past its TTL", func(t *testing.T) {
		f := &safeModeGuard{}
		g := newGuard(f)
		if d, err := g.Check(ctx, autoContain("a")); err != nil || d.Decision != policy.Allow {
			t.Fatalf("safe mode off: %+v, %v", d, err)
		}
		f.queryErr = down
		if d, err := g.Check(ctx, autoContain("b")); err != nil || d.Decision != policy.Allow {
			t.Errorf("within the TTL the cached switch answers: %+v, %v", d, err)
		}
		g.safeRead = time.Now().Add(-2 * time.Minute)
		if d, err := g.Check(ctx, autoContain("c")); err == nil {
			t.Errorf("stale cache: %+v; want the check to fail", d)
		}
	})
	t.Run("guard never started", func(t *testing.T) {
		g := newGuard(&safeModeGuard{queryErr: serviceerror.NewNotFound("workflow not found")})
		if d, err := g.Check(ctx, autoContain("isolate")); err != nil || d.Decision != policy.Allow {
			t.Errorf("got %+v, %v; want allow (safe mode was never switched on)", d, err)
		}
	})
	t.Run("step a human approves anyway", func(t *testing.T) {
		f := &safeModeGuard{queryErr: down}
		g := newGuard(f)
		req := autoContain("isolate")
		req.Auto = false
		if d, err := g.Check(ctx, req); err != nil || d.Decision != policy.Allow || f.queries != 0 {
			t.Errorf("got %+v, %v after %d queries; want allow without reading safe mode", d, err, f.queries)
		}
	})
	t.Run("checked call", func(t *testing.T) {
		defer func(b []time.Duration) { guardCheckBackoff = b }(guardCheckBackoff)
		guardCheckBackoff = []time.Duration{0}
		g := newGuard(&safeModeGuard{queryErr: down})
		req := autoContain("isolate")
		act := CheckedAction(g.Check, func(context.Context, catalog.Call) (map[string]any, error) {
			t.Error("acted while safe mode could not be read")
			return nil, nil
		})
		out, err := act(ctx, catalog.Call{Action: req.Action, Params: req.Params, WorkflowID: req.WorkflowID, StepID: req.StepID, Guardrail: &req.Request})
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != workflows.ErrGuardrailsUnavailable || out != nil {
			t.Errorf("got %v, %v; want a retryable %s", out, err, workflows.ErrGuardrailsUnavailable)
		}
	})
}

// A gate the policy forces names policy.yaml's approvers; an allowed step
// names none.
func TestForcedGateNamesPolicyApprovers(t *testing.T) {
	f := &safeModeGuard{on: true}
	g := &Guardrails{Client: f, pol: &policy.Policy{Approvers: []string{"USECLEAD"}}, SafeModeTTL: time.Minute}
	g.Budgets = NewBudgets(f, "q")
	d, err := g.Check(context.Background(), autoContain("isolate"))
	if err != nil || d.Decision != policy.Gate || len(d.Approvers) != 1 || d.Approvers[0] != "USECLEAD" {
		t.Errorf("safe mode gate: %+v, %v; want it to name USECLEAD", d, err)
	}
	f.on = false
	g.safeRead = time.Time{}
	if d, err := g.Check(context.Background(), autoContain("b")); err != nil || d.Decision != policy.Allow || d.Approvers != nil {
		t.Errorf("allowed: %+v, %v", d, err)
	}
}

// A check that cannot read the safe-mode switch fails retryably, and its
// failure names policy.yaml's approvers: the guardrails_unavailable gate
// the run opens on it is forced by the policy like any other, so the
// playbook's author does not decide it.
func TestUnavailableCheckNamesPolicyApprovers(t *testing.T) {
	f := &safeModeGuard{queryErr: serviceerror.NewUnavailable("connection refused")}
	g := &Guardrails{Client: f, pol: &policy.Policy{Approvers: []string{"USECLEAD"}}, SafeModeTTL: time.Minute}
	g.Budgets = NewBudgets(f, "q")
	_, err := g.Check(context.Background(), autoContain("isolate"))
	var ae *temporal.ApplicationError
	var ud workflows.UnavailableDetail
	var lf workflows.LocalFailure
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrGuardrailsUnavailable || ae.NonRetryable() ||
		ae.Details(&lf, &ud) != nil || len(ud.Approvers) != 1 || ud.Approvers[0] != "USECLEAD" {
		t.Fatalf("got %v (details %+v); want a retryable %s naming USECLEAD", err, ud, workflows.ErrGuardrailsUnavailable)
	}
	if !strings.Contains(ae.Message(), "reading safe mode") {
		t.Errorf("message %q lost the cause", ae.Message())
	}

	defer func(b []time.Duration) { guardCheckBackoff = b }(guardCheckBackoff)
	guardCheckBackoff = []time.Duration{0}
	req := autoContain("isolate")
	act := CheckedAction(g.Check, func(context.Context, catalog.Call) (map[string]any, error) {
		t.Error("acted while safe mode could not be read")
		return nil, nil
	})
	_, err = act(context.Background(), catalog.Call{Action: req.Action, Params: req.Params, WorkflowID: req.WorkflowID, StepID: req.StepID, Guardrail: &req.Request})
	ud = workflows.UnavailableDetail{}
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrGuardrailsUnavailable || ae.Details(&lf, &ud) != nil || len(ud.Approvers) != 1 {
		t.Errorf("checked call: %v (details %+v); want the check's failure with its approvers", err, ud)
	}
}
