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

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// The guardrails decide a contain step once, at every revision. An attempt
// that was allowed and reached the vendor may fail after the host was
// isolated (the answer lost); a later attempt must act under the same
// decision even if the guardrails would now say otherwise (safe mode
// switched on, the host added to the protected list, a budget window
// ended), or the step reads denied while the host stays contained, with
// no hold and no undo.
func TestGuardrailsDecideOnce(t *testing.T) {
	for _, later := range []struct {
		name string
		d    policy.Decision
		err  error
	}{
		{"refuse", policy.Decision{Decision: policy.Refuse, Rule: "protected_asset", Why: "the host is protected now"}, nil},
		{"gate", policy.Decision{Decision: policy.Gate, Rule: "safe_mode", Why: "safe mode is on"}, nil},
		{"no answer", policy.Decision{}, errors.New("budget guard not answering")},
	} {
		t.Run(later.name, func(t *testing.T) {
			forRevs(t, func(t *testing.T, rev int) {
				h := newHarness(t)
				h.rev = rev
				var mu sync.Mutex
				acted := 0
				g := &guardAnswers{list: []answer{{d: policy.Decision{Decision: policy.Allow, Rule: "budget", Budget: &policy.Budget{Action: "*", Max: 5, Per: time.Hour}, Why: "budget: 1 of 5 used"}}, {later.d, later.err}}}
				check := g.check
				h.env.RegisterActivityWithOptions(check, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
				h.env.RegisterActivityWithOptions(func(context.Context, workflows.ReleaseRequest) (bool, error) { return true, nil },
					activity.RegisterOptions{Name: workflows.ActivityBudgetRelease})
				h.action("crowdstrike.contain_host", activities.CheckedAction(check, func(context.Context, catalog.Call) (map[string]any, error) {
					mu.Lock()
					defer mu.Unlock()
					acted++
					if acted == 1 {
						return nil, errors.New("502 from the vendor after the host was isolated")
					}
					return map[string]any{"device_id": "aid-1", "already": true}, nil
				}))
				h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) { return nil, nil })
				pb := strings.Replace(containPlaybook, "%s", "approval: auto\n    retry: {max_attempts: 3, initial_interval: 100ms}", 1)
				res, _ := h.run(compileYAML(t, pb), det)
				if res == nil {
					t.Fatal("no result")
				}
				st := stepOf(res, "isolate")
				if st.Status != playbook.StatusSucceeded || acted != 2 || g.count() != 1 {
					t.Errorf("step %s (%s) after %d vendor calls and %d checks; want succeeded after 2 calls and 1 check", st.Status, st.Reason, acted, g.count())
				}
				if g := st.Guardrail; g == nil || g.Rule != "budget" || g.Released {
					t.Errorf("guardrail on the step %+v, want the first attempt's budget decision, not released", g)
				}
			})
		})
	}
}

// The slot a call's first attempt reserved is given back when its last
// attempt fails without acting, even though the guard stopped answering
// in between: the later attempts act under the first one's decision and
// their failure carries it.
func TestBudgetReleasedAfterLaterAttemptsFail(t *testing.T) {
	forRevs(t, func(t *testing.T, rev int) {
		h := newHarness(t)
		h.rev = rev
		var mu sync.Mutex
		check := (&guardAnswers{list: []answer{
			{d: policy.Decision{Decision: policy.Allow, Rule: "budget", Budget: &policy.Budget{Action: "crowdstrike.contain_host", Max: 5, Per: time.Hour}}},
			{err: errors.New("budget guard not answering")},
		}}).check
		h.env.RegisterActivityWithOptions(check, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
		var releases []workflows.ReleaseRequest
		h.env.RegisterActivityWithOptions(func(_ context.Context, r workflows.ReleaseRequest) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			releases = append(releases, r)
			return true, nil
		}, activity.RegisterOptions{Name: workflows.ActivityBudgetRelease})
		attempt := 0
		h.action("crowdstrike.contain_host", activities.CheckedAction(check, func(context.Context, catalog.Call) (map[string]any, error) {
			mu.Lock()
			defer mu.Unlock()
			attempt++
			if attempt == 1 {
				return nil, temporal.NewApplicationError("429 from the vendor: nothing done", "RateLimited")
			}
			return nil, temporal.NewNonRetryableApplicationError("no connection configured for crowdstrike", "NoConnection", nil)
		}))
		pb := strings.Replace(containPlaybook, "%s", "approval: auto\n    retry: {max_attempts: 3, initial_interval: 100ms}", 1)
		res, _ := h.run(compileYAML(t, pb), det)
		if res == nil {
			t.Fatal("no result")
		}
		st := stepOf(res, "isolate")
		if st.Status != playbook.StatusFailed {
			t.Errorf("step %s (%s), want failed", st.Status, st.Reason)
		}
		if len(releases) != 1 {
			t.Errorf("releases %+v, want one", releases)
		}
		if g := st.Guardrail; g == nil || !g.Released {
			t.Errorf("guardrail on the step %+v, want released", g)
		}
	})
}

// At revision 4 the request inside the call says everything the check
// reads, as the first revision-4 workers expect (they ask with it as it
// is); from revision 5, whose checked activity type only this release's
// workers run, the call itself says the workflow, step, action and params.
func TestGuardrailRequestInCall(t *testing.T) {
	for _, rev := range []int{workflows.RevGuardInCall, workflows.RevCheckedActivity} {
		h := newHarness(t)
		h.rev = rev
		var got *policy.Request
		h.action("crowdstrike.contain_host", func(_ context.Context, c catalog.Call) (map[string]any, error) {
			got = c.Guardrail
			return map[string]any{"device_id": "aid-1"}, nil
		})
		res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto", 1)), det)
		if res == nil || got == nil || !got.Auto || got.Facts == nil {
			t.Fatalf("revision %d: result %v, request %+v", rev, res, got)
		}
		full := got.WorkflowID != "" && got.StepID == "isolate" && got.Action == "crowdstrike.contain_host" && got.Params["hostname"] == "fin-ws-042"
		if full != (rev == workflows.RevGuardInCall) {
			t.Errorf("revision %d: request %+v", rev, got)
		}
	}
}

// A checked call that only workers without its activity type take (a
// rollback to a release before revision 5 with such runs in flight) goes
// to a human, as when the guardrails cannot be asked; once approved, it
// runs unchecked under the action's own type, which those workers run.
func TestCheckedCallWithoutCheckingWorkerGates(t *testing.T) {
	h := newHarness(t)
	h.rev = workflows.RevCheckedActivity
	var calls []catalog.Call
	// An older worker: the action under its own type only.
	h.env.RegisterActivityWithOptions(func(_ context.Context, c catalog.Call) (map[string]any, error) {
		calls = append(calls, c)
		return map[string]any{"device_id": "aid-1"}, nil
	}, activity.RegisterOptions{Name: "crowdstrike.contain_host"})
	h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) { return nil, nil })
	f := &gateFake{}
	f.register(h.env)
	var vote string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "USOC"}, &vote)
	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto\n    retry: {max_attempts: 2, initial_interval: 100ms}", 1)), det)
	if res == nil {
		t.Fatal("no result")
	}
	st := stepOf(res, "isolate")
	if st.Status != playbook.StatusSucceeded || st.Guardrail == nil || st.Guardrail.Rule != policy.RuleUnavailable {
		t.Errorf("step %s (%s), guardrail %+v; want approved at a guardrails_unavailable gate and succeeded", st.Status, st.Reason, st.Guardrail)
	}
	if len(f.opened) != 1 || vote != "" {
		t.Errorf("gates %+v, vote %q", f.opened, vote)
	}
	if len(calls) != 1 || calls[0].Guardrail != nil {
		t.Errorf("calls %+v, want one unchecked call after the approval", calls)
	}
}

// After an attempt that ended without saying how (its worker lost: here a
// panic), the next one asks the guardrails again, since that attempt may
// or may not have been allowed; a refusal then goes to a human, saying
// the earlier attempt may have acted, instead of denying a step whose host
// may be contained — also when an attempt the guardrails did not answer
// came in between. After an attempt the guardrails did not answer (it did
// not act), a refusal is a refusal.
func TestGuardrailsAfterAnEarlierAttempt(t *testing.T) {
	allow := answer{d: policy.Decision{Decision: policy.Allow}}
	none := answer{err: errors.New("budget guard not answering")}
	refuse := answer{d: policy.Decision{Decision: policy.Refuse, Rule: "protected_asset", Why: "the host is protected now"}}
	for _, tc := range []struct {
		name string
		// checks are the guardrails' answers in order (3 tries per
		// unanswered attempt); an allowed attempt panics after acting.
		checks     []answer
		attempts   int
		wantStatus string
		wantWhy    string
	}{
		{"silent", []answer{allow, refuse}, 2, playbook.StatusTimedOut, "may have acted"},
		{"unanswered", []answer{none, none, none, refuse}, 2, playbook.StatusDenied, "the host is protected now"},
		{"silent, then unanswered", []answer{allow, none, none, none, refuse}, 3, playbook.StatusTimedOut, "may have acted"},
		{"silent, then unanswered to the end", []answer{allow, none}, 2, playbook.StatusTimedOut, "may have acted; budget guard not answering"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forRevs(t, func(t *testing.T, rev int) {
				if rev < workflows.RevGuardInCall {
					return // one separate check before all attempts
				}
				h := newHarness(t)
				h.rev = rev
				var mu sync.Mutex
				acted := 0
				check := (&guardAnswers{list: tc.checks}).check
				h.env.RegisterActivityWithOptions(check, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
				h.action("crowdstrike.contain_host", activities.CheckedAction(check, func(context.Context, catalog.Call) (map[string]any, error) {
					mu.Lock()
					acted++
					mu.Unlock()
					panic("worker lost mid-call, after the vendor isolated the host")
				}))
				h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) { return nil, nil })
				f := &gateFake{}
				f.register(h.env)
				pb := strings.Replace(containPlaybook, "%s", fmt.Sprintf("approval: auto\n    retry: {max_attempts: %d, initial_interval: 100ms}", tc.attempts), 1)
				res, _ := h.run(compileYAML(t, pb), det)
				if res == nil {
					t.Fatal("no result")
				}
				st := stepOf(res, "isolate")
				gates := 0
				if tc.wantStatus == playbook.StatusTimedOut {
					gates = 1 // nobody decides: the gate times out
				}
				rule := "protected_asset"
				if tc.checks[len(tc.checks)-1].err != nil {
					rule = policy.RuleUnavailable
				}
				if st.Status != tc.wantStatus || len(f.opened) != gates || st.Guardrail == nil || st.Guardrail.Rule != rule || !strings.Contains(st.Guardrail.Why, tc.wantWhy) || strings.Contains(st.Guardrail.Why, "(type:") {
					t.Errorf("step %s (%s), %d gates, guardrail %+v; want %s, %d gates, saying %q", st.Status, st.Reason, len(f.opened), st.Guardrail, tc.wantStatus, gates, tc.wantWhy)
				}
				if wantActed := tc.checks[0].err == nil && tc.checks[0].d.Decision == policy.Allow; wantActed != (acted == 1) || acted > 1 {
					t.Errorf("%d vendor calls", acted)
				}
			})
		})
	}
}

// answer is one answer of the guardrails.
type answer struct {
	d   policy.Decision
	err error
}

// guardAnswers answers the guardrail checks in order, repeating the last,
// and counts them.
type guardAnswers struct {
	mu   sync.Mutex
	list []answer
	n    int
}

func (g *guardAnswers) check(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.list[min(g.n, len(g.list)-1)]
	g.n++
	return a.d, a.err
}

func (g *guardAnswers) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}
