package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// A contain call that asks the guardrails (RevGuardInCall) acts only when
// they allow it, and always says what they decided: in its output, or in
// its failure's details with the failure otherwise unchanged.
func TestCheckedAction(t *testing.T) {
	budget := policy.Decision{Decision: policy.Allow, Rule: "budget", Why: "budget x: 1 of 5 per 1h0m0s used", Budget: &policy.Budget{Action: "x", Max: 5, Per: time.Hour}}
	rateLimited := temporal.NewApplicationErrorWithOptions("429 from the vendor", "RateLimited", temporal.ApplicationErrorOptions{NextRetryDelay: 7 * time.Second})
	for _, tc := range []struct {
		name     string
		check    activities.CheckFunc
		actErr   error
		acted    bool
		decision string
		rule     string
		errType  string
	}{
		{"allowed", decide(policy.Decision{Decision: policy.Allow}), nil, true, policy.Allow, "", ""},
		{"allowed within budget", decide(budget), nil, true, policy.Allow, "budget", ""},
		{"gated", decide(policy.Decision{Decision: policy.Gate, Rule: "safe_mode", Why: "safe mode is on"}), nil, false, policy.Gate, "safe_mode", ""},
		{"refused", decide(policy.Decision{Decision: policy.Refuse, Rule: "protected_asset", Why: "db host"}), nil, false, policy.Refuse, "protected_asset", ""},
		// The attempt fails, retryably and without acting; the run gates
		// once the step's attempts run out (workflows' tests).
		{"check keeps failing", func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
			return policy.Decision{}, errors.New("guard unreachable")
		}, nil, false, "", "", workflows.ErrGuardrailsUnavailable},
		{"no guardrails on this worker", nil, nil, false, policy.Gate, "guardrails_unavailable", ""},
		{"allowed, then the vendor failed", decide(budget), rateLimited, true, policy.Allow, "budget", "RateLimited"},
		{"allowed, then a plain error", decide(budget), errors.New("connection reset"), true, policy.Allow, "budget", "ActionError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acted := false
			act := activities.CheckedAction(tc.check, func(_ context.Context, c catalog.Call) (map[string]any, error) {
				acted = true
				if c.Guardrail != nil {
					t.Error("the action saw the guardrail request")
				}
				if tc.actErr != nil {
					return nil, tc.actErr
				}
				return map[string]any{"device_id": "aid-1"}, nil
			})
			call := catalog.Call{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "ws-1"}, WorkflowID: "w", StepID: "isolate",
				Guardrail: &policy.Request{WorkflowID: "w", StepID: "isolate", Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "ws-1"}, Auto: true}}
			out, err := act(context.Background(), call)
			if acted != tc.acted {
				t.Fatalf("acted %v, want %v", acted, tc.acted)
			}
			var d policy.Decision
			if tc.errType == workflows.ErrGuardrailsUnavailable {
				var ae *temporal.ApplicationError
				if !errors.As(err, &ae) || ae.Type() != tc.errType || ae.NonRetryable() || !strings.Contains(ae.Message(), "guard unreachable") || out != nil {
					t.Errorf("got %v, %v; want a retryable %s naming the cause", out, err, tc.errType)
				}
				return
			}
			if tc.errType != "" {
				var ae *temporal.ApplicationError
				if !errors.As(err, &ae) || ae.Type() != tc.errType {
					t.Fatalf("error %v, want type %s", err, tc.errType)
				}
				var lf workflows.LocalFailure
				var gd workflows.GuardDetail
				if derr := ae.Details(&lf, &gd); derr != nil {
					t.Fatal(derr)
				}
				d = gd.Decision
				if lf.Message == "" || !strings.Contains(tc.actErr.Error(), lf.Message) {
					t.Errorf("message %q, from %v", lf.Message, tc.actErr)
				}
				var want *temporal.ApplicationError
				if errors.As(tc.actErr, &want) && (ae.NextRetryDelay() != want.NextRetryDelay() || ae.NonRetryable() != want.NonRetryable()) {
					t.Errorf("retry changed: delay %s nonretryable %v, want %s %v", ae.NextRetryDelay(), ae.NonRetryable(), want.NextRetryDelay(), want.NonRetryable())
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				var ok bool
				if d, ok = out[catalog.GuardrailKey].(policy.Decision); !ok {
					t.Fatalf("output %v has no decision", out)
				}
				if tc.acted != (out["device_id"] == "aid-1") || (!tc.acted && len(out) != 1) {
					t.Errorf("output %v", out)
				}
			}
			if d.Decision != tc.decision || d.Rule != tc.rule || (d.Decision != policy.Allow && d.Why == "") {
				t.Errorf("decision %+v, want %s/%s with a reason", d, tc.decision, tc.rule)
			}
		})
	}
	// A guard that hangs: the check gives up a second before the step's
	// own deadline, so the attempt fails as unavailable (and is retried)
	// instead of timing out.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	out, err := activities.CheckedAction(func(ctx context.Context, _ workflows.PolicyCheck) (policy.Decision, error) {
		<-ctx.Done()
		return policy.Decision{}, ctx.Err()
	}, func(context.Context, catalog.Call) (map[string]any, error) {
		t.Error("acted without a decision")
		return nil, nil
	})(ctx, catalog.Call{Action: "crowdstrike.contain_host", Guardrail: &policy.Request{Auto: true}})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrGuardrailsUnavailable || out != nil {
		t.Errorf("hanging guard: %v %v", out, err)
	}
	if ctx.Err() != nil {
		t.Errorf("answered after the step's deadline (%s): the attempt would have timed out", time.Since(start))
	}
	// Without a guardrail request the call acts unchecked (runs before
	// RevGuardInCall, calls after an approval).
	called := false
	out, err = activities.CheckedAction(nil, func(context.Context, catalog.Call) (map[string]any, error) {
		called = true
		return map[string]any{}, nil
	})(context.Background(), catalog.Call{Action: "crowdstrike.contain_host"})
	if err != nil || !called || len(out) != 0 {
		t.Errorf("unchecked call: %v %v %v", called, out, err)
	}
}

func decide(d policy.Decision) activities.CheckFunc {
	return func(context.Context, workflows.PolicyCheck) (policy.Decision, error) { return d, nil }
}

// names records the activity types a worker registers.
type names map[string]activities.ActionFunc

func (n names) RegisterActivity(any) { panic("registered without a name") }
func (n names) RegisterActivityWithOptions(a any, o activity.RegisterOptions) {
	n[o.Name] = a.(activities.ActionFunc)
}
func (n names) RegisterDynamicActivity(any, activity.DynamicRegisterOptions) {}

// Every contain action has a second activity type for its checked calls
// (RevCheckedActivity), which older workers do not register; no other
// action has one, and that type refuses a call that did not ask the
// guardrails, so it never acts unchecked.
func TestCheckedActivityTypes(t *testing.T) {
	reg := names{}
	activities.RegisterWithGuardrails(reg, activities.NewEnv(nil), nil)
	contain := 0
	for _, a := range activities.Catalog().Actions() {
		fn, ok := reg[catalog.CheckedActivity(a.Name)]
		if ok != (a.Risk == catalog.RiskContain) {
			t.Errorf("%s (risk %s): checked type registered = %v", a.Name, a.Risk, ok)
		}
		if catalog.ActionOfActivity(catalog.CheckedActivity(a.Name)) != a.Name {
			t.Errorf("%s: the action of its checked type is %s", a.Name, catalog.ActionOfActivity(catalog.CheckedActivity(a.Name)))
		}
		if !ok {
			continue
		}
		contain++
		_, err := fn(context.Background(), catalog.Call{Action: a.Name, Params: map[string]any{}})
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != "GuardrailMissing" || !ae.NonRetryable() {
			t.Errorf("%s: an unchecked call to its checked type answered %v", a.Name, err)
		}
	}
	if contain == 0 {
		t.Fatal("no contain action")
	}
	// A worker of this release checks such a call (here without
	// guardrails: it gates).
	out, err := reg[catalog.CheckedActivity("crowdstrike.contain_host")](context.Background(), catalog.Call{Action: "crowdstrike.contain_host", Guardrail: &policy.Request{Auto: true}})
	if d, ok := out[catalog.GuardrailKey].(policy.Decision); err != nil || !ok || d.Decision != policy.Gate {
		t.Errorf("checked call: %v %v", out, err)
	}
}

// The guardrails decide a call once: an attempt that fails says how it
// ended in its heartbeat details, for the next attempt (workflows' tests
// run the retries); one that succeeds sends no heartbeat.
func TestCheckedActionLeavesItsDecision(t *testing.T) {
	budget := policy.Decision{Decision: policy.Allow, Rule: "budget", Why: "budget: 1 of 5 used", Budget: &policy.Budget{Action: "*", Max: 5, Per: time.Hour}}
	call := catalog.Call{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "ws-1"}, WorkflowID: "w", StepID: "isolate",
		Guardrail: &policy.Request{Auto: true}}
	for _, tc := range []struct {
		name  string
		check activities.CheckFunc
		act   error
		want  []string // in the one heartbeat's details; nil: no heartbeat
	}{
		{"succeeded", decide(budget), nil, nil},
		{"failed after acting", decide(budget), errors.New("502 after the host was isolated"), []string{`"riposte_guardrail_attempt":1`, `"riposte_guardrail_allowed":{`, `"decision":"allow"`, `"rule":"budget"`}},
		{"no answer", func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
			return policy.Decision{}, errors.New("guard unreachable")
		}, nil, []string{`"riposte_guardrail_attempt":1`, `"riposte_guardrail_unanswered":true`}},
		{"refused", decide(policy.Decision{Decision: policy.Refuse, Rule: "safe_mode", Why: "on"}), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			var beats []string
			env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
				var v any
				if details.HasValues() && details.Get(&v) == nil {
					b, _ := json.Marshal(v)
					beats = append(beats, string(b))
				}
			})
			fn := activities.CheckedAction(tc.check, func(context.Context, catalog.Call) (map[string]any, error) {
				if tc.act != nil {
					return nil, tc.act
				}
				return map[string]any{"device_id": "aid-1"}, nil
			})
			env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: catalog.CheckedActivity(call.Action)})
			_, _ = env.ExecuteActivity(catalog.CheckedActivity(call.Action), call)
			if tc.want == nil {
				if len(beats) != 0 {
					t.Errorf("heartbeats %v, want none", beats)
				}
				return
			}
			if len(beats) != 1 {
				t.Fatalf("heartbeats %v, want one", beats)
			}
			for _, w := range tc.want {
				if !strings.Contains(beats[0], w) {
					t.Errorf("heartbeat %s, want %s in it", beats[0], w)
				}
			}
		})
	}
}

// `temporal activity reset` / `unpause --reset-attempts` set the attempt
// back to 1 and keep the heartbeat details (unless --reset-heartbeats).
// An earlier attempt acted under an allow; the new attempt 1 must not
// ask again and take a refusal.
func TestCheckedActionAfterActivityReset(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetHeartbeatDetails(map[string]any{
		"riposte_guardrail_attempt": 3,
		"riposte_guardrail_allowed": policy.Decision{Decision: policy.Allow, Rule: "budget"},
	})
	acted := false
	fn := activities.CheckedAction(decide(policy.Decision{Decision: policy.Refuse, Rule: "safe_mode", Why: "on"}),
		func(context.Context, catalog.Call) (map[string]any, error) {
			acted = true
			return map[string]any{}, nil
		})
	env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: "x+guardrails"})
	v, err := env.ExecuteActivity("x+guardrails", catalog.Call{Action: "x", Guardrail: &policy.Request{Auto: true}})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = v.Get(&out)
	if d, _ := out[catalog.GuardrailKey].(map[string]any); !acted || d["decision"] != policy.Allow || d["rule"] != "budget" {
		t.Errorf("acted %v, decision %v: an earlier attempt's allow must hold after a reset", acted, d)
	}
}
