package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/guardrails"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// Guardrails checks contain steps against the site policy (policy.yaml,
// re-read when it changes) and the guard workflow (live safe mode and
// budgets shared by every worker).
type Guardrails struct {
	Client     client.Client
	TaskQueue  string
	PolicyPath string // "" = no policy file
	Logger     *slog.Logger
	// SafeModeTTL is how long the live safe-mode switch is cached.
	SafeModeTTL time.Duration

	// Budgets batches reservations to the budget guards.
	Budgets *Budgets

	mu       sync.Mutex
	pol      *policy.Policy
	modTime  time.Time
	size     int64
	settled  bool // the file was read after its mtime's tick had passed
	safe     bool
	safeRead time.Time
}

// LoadPolicy reads and checks policy.yaml the way the worker does: its
// budgets must name contain actions of the catalog. riposte doctor checks
// the file with it too.
func LoadPolicy(path string) (*policy.Policy, error) {
	return policy.LoadWith(path, false, policy.Options{Actions: Catalog()})
}

// NewGuardrails loads the policy file once, so a broken file stops start-up.
func NewGuardrails(c client.Client, taskQueue, path string, logger *slog.Logger) (*Guardrails, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Guardrails{Client: c, TaskQueue: taskQueue, PolicyPath: path, Logger: logger, SafeModeTTL: 2 * time.Second, pol: &policy.Policy{},
		Budgets: NewBudgets(c, taskQueue)}
	if path != "" {
		p, err := LoadPolicy(path)
		if err != nil {
			return nil, err
		}
		g.warn(p)
		g.pol = p
		if fi, err := os.Stat(path); err == nil {
			g.loaded(fi)
		}
	}
	return g, nil
}

// RegisterGuardrails registers the policy check and budget release activities.
func RegisterGuardrails(w worker.ActivityRegistry, g *Guardrails) {
	w.RegisterActivityWithOptions(g.Check, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
	w.RegisterActivityWithOptions(g.Release, activity.RegisterOptions{Name: workflows.ActivityBudgetRelease})
}

// policySettle is how long after its mtime a policy file may still be
// written with the same mtime: the file system's timestamp granularity (a
// coarse kernel clock tick of a few ms; 1-2 s on some file systems).
const policySettle = 2 * time.Second

// current returns the policy, reloading the file when it changed: another
// mtime or size, or a file read within policySettle of its mtime. An
// in-place save (truncate, then write) seen between its two writes, which
// then share one mtime, is read again, not kept (an empty file would be no
// guardrails at all). A file that became invalid is logged and the last
// good policy kept.
func (g *Guardrails) current() *policy.Policy {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.PolicyPath == "" {
		return g.pol
	}
	fi, err := os.Stat(g.PolicyPath)
	if err != nil || (g.settled && fi.ModTime().Equal(g.modTime) && fi.Size() == g.size) {
		return g.pol
	}
	p, err := LoadPolicy(g.PolicyPath)
	if err != nil {
		if !fi.ModTime().Equal(g.modTime) || fi.Size() != g.size {
			g.Logger.Error("policy file is invalid; keeping the previous policy", "error", err)
		}
		g.loaded(fi)
		return g.pol
	}
	g.warn(p)
	g.pol = p
	g.loaded(fi)
	return p
}

// warn logs the warnings of a policy just loaded (a protected pattern
// that looks like a name but cannot match it), with their positions.
func (g *Guardrails) warn(p *policy.Policy) {
	for _, d := range p.Warnings {
		g.Logger.Warn("policy file", "warning", d.String())
	}
}

// loaded notes the file a load read (stat taken before the read).
func (g *Guardrails) loaded(fi os.FileInfo) {
	g.modTime, g.size = fi.ModTime(), fi.Size()
	g.settled = time.Since(fi.ModTime()) >= policySettle
}

// safeMode reads the live switch from the riposte-guard workflow (its
// query alone, cached for SafeModeTTL). When the guard cannot be read and
// the cached value is older than SafeModeTTL, the switch is unknown: the
// error makes the check fail closed (a guardrails_unavailable gate once
// the check's retries run out), never a stale "off".
func (g *Guardrails) safeMode(ctx context.Context) (bool, error) {
	g.mu.Lock()
	if time.Since(g.safeRead) < g.SafeModeTTL {
		s := g.safe
		g.mu.Unlock()
		return s, nil
	}
	g.mu.Unlock()
	st, err := guardrails.LegacyState(ctx, g.Client)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		if time.Since(g.safeRead) < g.SafeModeTTL { // another check read it meanwhile
			return g.safe, nil
		}
		return false, fmt.Errorf("reading safe mode from %s: %w", workflows.GuardWorkflowID, err)
	}
	g.safe, g.safeRead = st.SafeMode, time.Now()
	return g.safe, nil
}

// Check is the policy check activity. A gate it forces names the policy's
// approvers, when policy.yaml has them; so does the retryable failure of a
// check that could not ask the guard (workflows.ErrGuardrailsUnavailable
// with a workflows.UnavailableDetail), since the run gates the step on it.
func (g *Guardrails) Check(ctx context.Context, req workflows.PolicyCheck) (policy.Decision, error) {
	p := g.current()
	d, err := g.decide(ctx, p, req)
	if err != nil {
		return policy.Decision{}, workflows.NewUnavailable(err.Error(), p.Approvers)
	}
	if d.Decision == policy.Gate && len(p.Approvers) > 0 {
		d.Approvers = p.Approvers
	}
	return d, nil
}

func (g *Guardrails) decide(ctx context.Context, p *policy.Policy, req workflows.PolicyCheck) (policy.Decision, error) {
	d := p.Evaluate(req.Request, false)
	// The live switch matters only to a step that would run automatically
	// (a protected target or a playbook gate goes to a human anyway); it
	// is read only then, so a guard that cannot be read gates only those.
	if d.Decision == policy.Allow && req.Auto && !p.SafeMode {
		on, err := g.safeMode(ctx)
		if err != nil {
			return policy.Decision{}, err
		}
		if on {
			d = p.Evaluate(req.Request, true)
		}
	}
	if d.Decision != policy.Allow || d.Budget == nil || req.Simulated {
		return d, nil
	}
	b := d.Budget
	res, err := g.Budgets.Reserve(ctx, workflows.ReserveRequest{Budget: b.Action, Key: runKey(ctx, workflows.BudgetKey(req.WorkflowID, req.StepID)), Max: b.Max, Per: b.Per})
	if err != nil {
		return policy.Decision{}, fmt.Errorf("reserving budget %s: %w", b.Action, err)
	}
	if !res.Granted {
		return policy.Decision{Decision: policy.Gate, Rule: "budget",
			Why: fmt.Sprintf("budget for %s is used up (%d of %d per %s); a human must approve", b.Action, res.Used, res.Max, b.Per)}, nil
	}
	d.Why = fmt.Sprintf("budget %s: %d of %d per %s used", b.Action, res.Used, res.Max, b.Per)
	d.Rule = "budget"
	return d, nil
}

// Release gives back the budget slot of a contain step whose action failed
// or was never sent.
func (g *Guardrails) Release(ctx context.Context, r workflows.ReleaseRequest) (bool, error) {
	r.Key = runKey(ctx, r.Key)
	ok, err := g.Budgets.Release(ctx, r)
	if err != nil {
		return false, fmt.Errorf("releasing budget %s: %w", r.Budget, err)
	}
	return ok, nil
}

// runKey is a budget slot's key (workflows.BudgetKey: workflow id and
// step) with the run that reserves or releases it, read from the calling
// activity. A finding its detector reopens gets a new run under the same
// workflow id: keyed by workflow id alone, that run was handed the first
// run's slot back as a retried check is, so a finding closed and reopened
// naming another host each time contained without limit on one slot (and
// a failure of the new run released the first run's slot). Every attempt
// and check of one run shares its run id, so a retried check still gets
// its slot back. Outside an activity (tools) the key is unchanged.
func runKey(ctx context.Context, key string) string {
	if !activity.IsActivity(ctx) {
		return key
	}
	if id := activity.GetInfo(ctx).WorkflowExecution.RunID; id != "" {
		return key + "@" + id
	}
	return key
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// Tries of the check inside one attempt of a call before the attempt fails
// as unavailable, and the time each may take: as the separate check's
// local activity (3 attempts of up to 30 s each).
var (
	guardCheckBackoff = []time.Duration{0, 500 * time.Millisecond, time.Second}
	guardCheckTimeout = 30 * time.Second
	// guardCheckReserve is kept of the attempt's time to report the failure.
	guardCheckReserve = time.Second
)

// CheckFunc answers a guardrail check (Guardrails.Check).
type CheckFunc func(context.Context, workflows.PolicyCheck) (policy.Decision, error)

// ActionFunc is an action activity.
type ActionFunc func(context.Context, Call) (map[string]any, error)

// CheckedAction wraps an action so that a contain call asking the
// guardrails (Call.Guardrail, from workflows.RevGuardInCall on) acts only
// when check allows it. The decision goes back in the output under
// catalog.GuardrailKey; a gated or refused call returns only that and does
// not act. An attempt whose check keeps failing (a budget guard that does
// not answer, e.g. while its worker restarts) fails, without acting, with
// the retryable workflows.ErrGuardrailsUnavailable: the step's retry
// policy tries again, and when its attempts run out the run opens a human
// gate (the safe direction, as the separate check's failure did). A nil
// check (a worker without guardrails) gates at once. Calls without
// Guardrail go straight to act.
//
// The guardrails decide a call once, as the separate check did. An
// allowed attempt may have acted before it failed (its answer lost); a new
// answer (safe mode switched on, a policy edit, a budget window that
// ended) must not turn a containment that happened into a denied step. So
// an attempt that ends in a failure says in its heartbeat details how it
// ended (attemptRecord): allowed, and the next attempt acts under the same
// decision (and budget slot) without asking again; or not answered, and it
// did not act. An attempt that ended without a word (its worker lost, its
// time up) may have acted: the next one asks again, and a gate or refusal
// then goes to a human, saying so. A call that succeeds records nothing:
// no heartbeat in the common path.
func CheckedAction(check CheckFunc, act ActionFunc) ActionFunc {
	return func(ctx context.Context, call Call) (map[string]any, error) {
		if call.Guardrail == nil {
			return act(ctx, call)
		}
		ctx, progress := connector.WithProgress(ctx)
		prev := earlierAttempt(ctx, progress)
		d := policy.Decision{}
		if prev.Allowed != nil {
			d = *prev.Allowed
		} else {
			// Heartbeat while a busy budget guard answers: the step's
			// heartbeat timeout (20 s) is shorter than the check may take.
			// The heartbeats re-send what an earlier attempt left.
			stop := heartbeat(ctx, progress)
			var err error
			d, err = checkInCall(ctx, check, call)
			stop()
			if err != nil {
				recordAttempt(ctx, progress, attemptRecord{Attempt: attemptOf(ctx), Unanswered: true, MayHaveActed: prev.Silent})
				var ae *temporal.ApplicationError
				if prev.Silent && errors.As(err, &ae) {
					err = guardrailsUnavailable(errors.New(silentBefore + "; " + ae.Message()))
				}
				return nil, err
			}
			if prev.Silent && d.Decision != policy.Allow {
				d = mayHaveActed(d)
			}
			if d.Decision != policy.Allow {
				return map[string]any{catalog.GuardrailKey: d}, nil
			}
		}
		// A long call's periodic heartbeats carry the decision too.
		rec := attemptRecord{Attempt: attemptOf(ctx), Allowed: &d}
		progress.SetRecord(rec)
		inner := call
		inner.Guardrail = nil
		out, err := act(ctx, inner)
		if err != nil {
			recordAttempt(ctx, progress, rec)
			return nil, withDecision(err, d)
		}
		res := make(map[string]any, len(out)+1)
		maps.Copy(res, out)
		res[catalog.GuardrailKey] = d
		return res, nil
	}
}

// attemptRecord is how an attempt of a checked call ended, in its
// heartbeat details, for the next attempt. Its keys start with
// attemptRecordPrefix: the details the handler saved (connector
// SaveProgress) ride in the same object.
type attemptRecord struct {
	Attempt int32 `json:"riposte_guardrail_attempt"`
	// Allowed is the decision the attempt acted under.
	Allowed *policy.Decision `json:"riposte_guardrail_allowed,omitempty"`
	// Unanswered: the guardrails did not answer; it did not act.
	Unanswered bool `json:"riposte_guardrail_unanswered,omitempty"`
	// MayHaveActed: an attempt before this unanswered one was silent.
	MayHaveActed bool `json:"riposte_guardrail_may_have_acted,omitempty"`
}

// attemptRecordPrefix starts every key of attemptRecord.
const attemptRecordPrefix = "riposte_guardrail_"

// earlier is what an attempt knows of the ones before it.
type earlier struct {
	// Allowed is the decision an earlier attempt acted under.
	Allowed *policy.Decision
	// Silent: the previous attempt ended without saying how (worker lost,
	// time up) and may have acted.
	Silent bool
}

// earlierAttempt reads what the earlier attempts of this call left. Other
// details are kept in progress, so heartbeats do not drop them.
func earlierAttempt(ctx context.Context, progress *connector.Progress) earlier {
	n := attemptOf(ctx)
	if n == 0 || !activity.HasHeartbeatDetails(ctx) {
		// A first attempt (also after a reset that cleared the details),
		// or one after an attempt that left nothing.
		return earlier{Silent: n > 1}
	}
	var rec attemptRecord
	if activity.GetHeartbeatDetails(ctx, &rec) == nil && rec.Attempt > 0 {
		progress.SetRecord(rec)
		// What the handler saved rides beside the record (connector
		// Progress): kept for this attempt's heartbeats.
		var handler map[string]json.RawMessage
		if activity.GetHeartbeatDetails(ctx, &handler) == nil {
			maps.DeleteFunc(handler, func(k string, _ json.RawMessage) bool { return strings.HasPrefix(k, attemptRecordPrefix) })
			if len(handler) > 0 {
				progress.Set(handler)
			}
		}
		switch {
		case rec.Allowed != nil && rec.Allowed.Decision == policy.Allow:
			// Whatever the attempts since did, they acted under it too.
			return earlier{Allowed: rec.Allowed}
		case rec.Unanswered && rec.Attempt == n-1:
			return earlier{Silent: rec.MayHaveActed}
		}
		return earlier{Silent: true}
	}
	var prior any
	if activity.GetHeartbeatDetails(ctx, &prior) == nil {
		progress.Set(prior)
	}
	return earlier{Silent: true}
}

// silentBefore says why a retry after a silent attempt does not simply
// take the guardrails' new answer.
const silentBefore = "the previous attempt of this call ended without an answer and may have acted"

// mayHaveActed turns a gate or refusal that follows a silent attempt into
// a gate that says why: that attempt may have contained already, which
// only a human can weigh against the rule.
func mayHaveActed(d policy.Decision) policy.Decision {
	d.Why = silentBefore + "; the guardrails now say: " + d.Why
	d.Decision = policy.Gate
	return d
}

// attemptOf is the activity attempt, 0 outside an activity.
func attemptOf(ctx context.Context) int32 {
	if !activity.IsActivity(ctx) {
		return 0
	}
	return activity.GetInfo(ctx).Attempt
}

// recordAttempt leaves rec for the next attempt, beside what the handler
// saved for it (progress). Only on the way out of a failed attempt: the
// SDK sends it at once, or with the buffered heartbeat it flushes before
// reporting the failure.
func recordAttempt(ctx context.Context, progress *connector.Progress, rec attemptRecord) {
	progress.SetRecord(rec)
	if !activity.IsActivity(ctx) || activity.GetInfo(ctx).IsLocalActivity {
		return
	}
	d, _ := progress.Details()
	activity.RecordHeartbeat(ctx, d)
}

func checkInCall(ctx context.Context, check CheckFunc, call Call) (policy.Decision, error) {
	if check == nil {
		return policy.Unavailable("this worker has no guardrails to check the step against"), nil
	}
	// What the call already says is not sent twice (see catalog.Call).
	req := *call.Guardrail
	req.WorkflowID = cmp.Or(req.WorkflowID, call.WorkflowID)
	req.StepID = cmp.Or(req.StepID, call.StepID)
	req.Action = cmp.Or(req.Action, call.Action)
	if req.Params == nil {
		req.Params = call.Params
	}
	// The failure must reach the server within the attempt's own time, or
	// the attempt times out instead: keep a second.
	deadline, hasDeadline := ctx.Deadline()
	err := errors.New("no check fitted in the step's timeout")
	for _, wait := range guardCheckBackoff {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return policy.Decision{}, guardrailsUnavailable(ctx.Err())
			case <-time.After(wait):
			}
		}
		budget := guardCheckTimeout
		if hasDeadline {
			budget = min(budget, time.Until(deadline)-guardCheckReserve)
		}
		if budget <= 0 {
			break
		}
		actx, cancel := context.WithTimeout(ctx, budget)
		d, cerr := check(actx, workflows.PolicyCheck{Request: req, Simulated: call.DryRun})
		cancel()
		if cerr == nil {
			return d, nil
		}
		err = cerr
	}
	return policy.Decision{}, guardrailsUnavailable(err)
}

// guardrailsUnavailable is the retryable failure of an attempt that could
// not get the guardrails' answer: its message is the cause; the run gates
// the step with policy.Unavailable of it once the step's attempts run out.
func guardrailsUnavailable(err error) error {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == workflows.ErrGuardrailsUnavailable {
		return ae // Check's own, with who decides the gate
	}
	return temporal.NewApplicationError(err.Error(), workflows.ErrGuardrailsUnavailable)
}

// withDecision adds the decision an allowed call ran under to its failure.
// An application error keeps its message, type, retry and delay; the
// message moves to the details as for local steps. A timeout or a
// cancellation stays as it is: the run then records no decision on the
// step, and a timed-out call keeps its budget slot anyway.
func withDecision(err error, d policy.Decision) error {
	var te *temporal.TimeoutError
	var ce *temporal.CanceledError
	if errors.As(err, &te) || errors.As(err, &ce) {
		return err
	}
	typ, msg, opts := "ActionError", err.Error(), temporal.ApplicationErrorOptions{}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		if ae.HasDetails() {
			return err // its details are its own; no decision recorded
		}
		typ, msg = ae.Type(), ae.Message()
		opts = temporal.ApplicationErrorOptions{NonRetryable: ae.NonRetryable(), NextRetryDelay: ae.NextRetryDelay(), Category: ae.Category()}
	}
	opts.Details = []any{workflows.LocalFailure{Message: msg}, workflows.GuardDetail{Decision: d}}
	return temporal.NewApplicationErrorWithOptions(msg, typ, opts)
}

// check is g.Check, nil for a worker without guardrails.
func (g *Guardrails) check() CheckFunc {
	if g == nil {
		return nil
	}
	return g.Check
}
