package pbtest

// The world a case runs against: every action answers from the case's
// stubs (or runs in process for core.noop/log/fail), and every gate is
// decided by the case's scripted approvers.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// caseRun is the state of one case's run.
type caseRun struct {
	r   *Runner
	f   *File
	c   *Case
	pb  *playbook.Compiled
	env *testsuite.TestWorkflowEnvironment
	// id is the run's workflow id (votes are sealed for it).
	id string

	mu        sync.Mutex
	calls     []Call
	opened    map[string]int // gate id -> times opened (escalation opens again)
	openCount int
	unplanned []string
	problems  []string
	votes     map[string][]*voteState
}

type voteState struct {
	sent, done, accepted bool
	refused              string
}

// action is the fake activity registered under every catalog action name.
func (cr *caseRun) action(a *catalog.Action) func(context.Context, catalog.Call) (map[string]any, error) {
	return func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		attempt := int(activity.GetInfo(ctx).Attempt)
		rec := Call{Step: call.StepID, Index: call.Index, Attempt: attempt, Action: call.Action,
			Params: call.Params, IdempotencyKey: call.IdempotencyKey, DryRun: call.DryRun}
		out, err := cr.answer(ctx, a, call, attempt, &rec)
		rec.Output = out
		if err != nil {
			rec.Error = errText(err)
		}
		cr.mu.Lock()
		cr.calls = append(cr.calls, rec)
		cr.mu.Unlock()
		return out, err
	}
}

func (cr *caseRun) answer(ctx context.Context, a *catalog.Action, call catalog.Call, attempt int, rec *Call) (map[string]any, error) {
	if call.DryRun && a.Risk != catalog.RiskRead {
		// What the worker does in a dry run or shadow mode.
		return activities.Simulate(a, call), nil
	}
	st := cr.c.Stubs[call.StepID]
	if st != nil && st.Items != nil {
		st = nil
		if items := cr.c.Stubs[call.StepID].Items; call.Index >= 0 && call.Index < len(items) {
			st = items[call.Index]
		}
	}
	if st != nil && st.Attempts != nil {
		st = st.Attempts[min(attempt, len(st.Attempts))-1]
	}
	if st != nil {
		rec.Stubbed = true
		if st.Error != "" {
			if st.Retryable {
				return nil, temporal.NewApplicationError(st.Error, "StubError")
			}
			return nil, temporal.NewNonRetryableApplicationError(st.Error, "StubError", nil)
		}
		out := make(map[string]any, len(st.Output))
		for k, v := range st.Output {
			out[k] = v
		}
		// What the worker adds (activities.act): a contain call that
		// found its containment in place (already) on the step's first
		// attempt did not make it; the run neither holds nor rolls it
		// back, and later steps may read output.preexisting. A stub has
		// no heartbeat details to carry over from an earlier attempt.
		if already, _ := out[catalog.OutputAlready].(bool); already && a.Risk == catalog.RiskContain && attempt == 1 {
			out[catalog.OutputPreexisting] = true
		}
		return out, nil
	}
	if h := cr.r.handlers[a.Name]; h != nil {
		return h(ctx, cr.r.actEnv, call)
	}
	return activities.Simulate(a, call), nil
}

func errText(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Message()
	}
	return err.Error()
}

// openGate is the fake ActivityOpenGate: it resolves approvers from the
// test file's groups and starts the case's scripted votes.
func (cr *caseRun) openGate(_ context.Context, req workflows.GateRequest) (workflows.GateOpened, error) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.opened[req.GateID]++
	cr.openCount++
	set := map[string]bool{}
	for _, u := range req.Users {
		if u = strings.TrimSpace(u); u != "" {
			set[u] = true
		}
	}
	for _, g := range req.Groups {
		members, ok := cr.f.Groups[g]
		if !ok {
			cr.problems = append(cr.problems, fmt.Sprintf("gate on step %s names user group %s, which is not in the test file's groups: (add groups: {%s: [USER, ...]})", req.StepID, g, g))
			continue
		}
		for _, m := range members {
			set[m] = true
		}
	}
	approvers := make([]string, 0, len(set))
	for u := range set {
		approvers = append(approvers, u)
	}
	sort.Strings(approvers)
	if cr.opened[req.GateID] == 1 {
		plan := cr.c.Approvals[req.GateID]
		switch {
		case plan == nil:
			cr.unplanned = append(cr.unplanned, req.StepID)
		case !plan.Timeout && len(plan.Votes) > 0:
			// Posted to the test environment's main loop; the timer fires
			// once the workflow waits on the gate.
			gate := req.GateID
			cr.env.RegisterDelayedCallback(func() { cr.vote(gate, 0) }, plan.After)
		}
	}
	return workflows.GateOpened{
		Approvers: approvers,
		Channel:   "CTEST",
		MessageTS: fmt.Sprintf("1700000000.%06d", cr.openCount),
		Posted:    true,
	}, nil
}

// updateGate is the fake ActivityUpdateGate: there is no message to update.
func (cr *caseRun) updateGate(context.Context, workflows.GateUpdate) error { return nil }

// vote casts the gate's i-th scripted vote as a Temporal Update, then
// schedules the next one. It runs on the test environment's main loop.
func (cr *caseRun) vote(gate string, i int) {
	plan := cr.c.Approvals[gate]
	v := plan.Votes[i]
	cr.mu.Lock()
	st := cr.votes[gate][i]
	st.sent = true
	cr.mu.Unlock()
	finish := func(accepted bool, refused string) {
		cr.mu.Lock()
		if st.done {
			cr.mu.Unlock()
			return
		}
		st.done, st.accepted, st.refused = true, accepted, refused
		cr.mu.Unlock()
		if i+1 < len(plan.Votes) {
			cr.env.RegisterDelayedCallback(func() { cr.vote(gate, i+1) }, voteInterval)
		}
	}
	d := workflows.Decision{GateID: gate, Approve: v.Approve, User: v.User, Reason: v.Reason, Via: ViaTest}
	d.Seal = cr.r.interp.Keys.Sign(workflows.DecisionClaim(cr.id, d), cr.env.Now())
	cr.env.UpdateWorkflow(workflows.UpdateDecide, fmt.Sprintf("pbtest-%s-%d", gate, i), &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { finish(false, errText(err)) },
		OnComplete: func(_ any, err error) {
			if err != nil {
				finish(false, errText(err))
				return
			}
			finish(true, "")
		},
	}, d)
}

// voteProblems reports scripted votes that did not go as scripted.
func (cr *caseRun) voteProblems(res *workflows.Result) []string {
	var out []string
	for _, k := range cr.c.apprKeys {
		gate := k.Value
		plan := cr.c.Approvals[gate]
		if cr.opened[gate] == 0 {
			why := "the step never reached it"
			if s, ok := res.Step(gate); ok {
				why = "step " + gate + " " + s.Status
				if s.Reason != "" {
					why += ": " + s.Reason
				} else if s.Error != "" {
					why += ": " + s.Error
				}
			}
			out = append(out, fmt.Sprintf("approvals.%s: the gate on step %s never opened (%s)", gate, gate, why))
			continue
		}
		for i, v := range plan.Votes {
			st := cr.votes[gate][i]
			who := fmt.Sprintf("%s's %s", v.User, map[bool]string{true: "approval", false: "denial"}[v.Approve])
			switch {
			case !st.sent || !st.done:
				why := "the run ended first"
				if g := gateOf(res, gate); g != nil && g.State != workflows.GatePending {
					why += " (the gate was already " + g.State
					if g.Decision != nil && g.Decision.User != "" {
						why += " by " + g.Decision.User
					}
					why += ")"
				}
				out = append(out, fmt.Sprintf("approvals.%s: %s was never cast: %s", gate, who, why))
			case v.Refused == "" && !st.accepted:
				out = append(out, fmt.Sprintf("approvals.%s: %s was refused: %s", gate, who, st.refused))
			case v.Refused != "" && st.accepted:
				out = append(out, fmt.Sprintf("approvals.%s: %s was accepted; want it refused (%q)", gate, who, v.Refused))
			case v.Refused != "" && !strings.Contains(st.refused, v.Refused):
				out = append(out, fmt.Sprintf("approvals.%s: %s was refused with %q; want a refusal containing %q", gate, who, st.refused, v.Refused))
			}
		}
	}
	return out
}

func gateOf(res *workflows.Result, id string) *workflows.Gate {
	for i := range res.Gates {
		if res.Gates[i].ID == id {
			return &res.Gates[i]
		}
	}
	return nil
}
