package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

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
	safe     bool
	safeRead time.Time
}

// NewGuardrails loads the policy file once, so a broken file stops start-up.
func NewGuardrails(c client.Client, taskQueue, path string, logger *slog.Logger) (*Guardrails, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Guardrails{Client: c, TaskQueue: taskQueue, PolicyPath: path, Logger: logger, SafeModeTTL: 2 * time.Second, pol: &policy.Policy{},
		Budgets: NewBudgets(c, taskQueue)}
	if path != "" {
		p, err := policy.Load(path, false)
		if err != nil {
			return nil, err
		}
		g.pol = p
		if fi, err := os.Stat(path); err == nil {
			g.modTime = fi.ModTime()
		}
	}
	return g, nil
}

// RegisterGuardrails registers the policy check and budget release activities.
func RegisterGuardrails(w worker.ActivityRegistry, g *Guardrails) {
	w.RegisterActivityWithOptions(g.Check, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
	w.RegisterActivityWithOptions(g.Release, activity.RegisterOptions{Name: workflows.ActivityBudgetRelease})
}

// current returns the policy, reloading the file when it changed. A file
// that became invalid is logged and the last good policy kept.
func (g *Guardrails) current() *policy.Policy {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.PolicyPath == "" {
		return g.pol
	}
	fi, err := os.Stat(g.PolicyPath)
	if err != nil || fi.ModTime().Equal(g.modTime) {
		return g.pol
	}
	p, err := policy.Load(g.PolicyPath, false)
	if err != nil {
		g.Logger.Error("policy file is invalid; keeping the previous policy", "error", err)
		g.modTime = fi.ModTime()
		return g.pol
	}
	g.pol, g.modTime = p, fi.ModTime()
	return p
}

// safeMode reads the live switch from the guard workflow (cached briefly).
func (g *Guardrails) safeMode(ctx context.Context) bool {
	g.mu.Lock()
	if time.Since(g.safeRead) < g.SafeModeTTL {
		s := g.safe
		g.mu.Unlock()
		return s
	}
	g.mu.Unlock()
	st, err := guardrails.Status(ctx, g.Client)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err == nil {
		g.safe, g.safeRead = st.SafeMode, time.Now()
	}
	return g.safe
}

// Check is the policy check activity.
func (g *Guardrails) Check(ctx context.Context, req workflows.PolicyCheck) (policy.Decision, error) {
	p := g.current()
	d := p.Evaluate(req.Request, g.safeMode(ctx))
	if d.Decision != policy.Allow || d.Budget == nil || req.Simulated {
		return d, nil
	}
	b := d.Budget
	res, err := g.Budgets.Reserve(ctx, workflows.ReserveRequest{Budget: b.Action, Key: workflows.BudgetKey(req.WorkflowID, req.StepID), Max: b.Max, Per: b.Per})
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
	ok, err := g.Budgets.Release(ctx, r)
	if err != nil {
		return false, fmt.Errorf("releasing budget %s: %w", r.Budget, err)
	}
	return ok, nil
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
