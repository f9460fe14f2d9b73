package workflows

import (
	"sort"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/signing"
)

// The guard is one long-lived workflow per namespace that holds the state
// guardrails share across runs and workers: the live safe-mode switch and
// the budgets of automatic contain actions. Updates to it are serialised by
// Temporal, so budgets are exact under concurrency and survive restarts.
const (
	GuardWorkflow   = "riposte.guard"
	GuardWorkflowID = "riposte-guard"
	UpdateReserve   = "reserve"
	UpdateSafeMode  = "safe_mode"
	QueryGuard      = "state"
	// guardMaxEvents bounds the guard's history before it continues as new.
	guardMaxEvents = 4000
)

// GuardState is the guard's state, carried across continue-as-new.
type GuardState struct {
	SafeMode   bool                     `json:"safe_mode"`
	SafeModeBy string                   `json:"safe_mode_by,omitempty"`
	SafeModeAt *time.Time               `json:"safe_mode_at,omitempty"`
	Budgets    map[string][]Reservation `json:"budgets,omitempty"`
}

// Reservation is one automatic contain action counted against a budget.
type Reservation struct {
	Key string    `json:"key"`
	At  time.Time `json:"at"`
}

// ReserveRequest asks for one slot of a budget; Key (workflow id + step)
// makes a repeated request return the same answer.
type ReserveRequest struct {
	Budget string        `json:"budget"`
	Key    string        `json:"key"`
	Max    int           `json:"max"`
	Per    time.Duration `json:"per"`
}

// ReserveResult says whether the slot was granted and how much is used.
type ReserveResult struct {
	Granted bool `json:"granted"`
	Used    int  `json:"used"`
	Max     int  `json:"max"`
}

// SafeModeRequest flips the safe-mode switch.
type SafeModeRequest struct {
	Enabled bool   `json:"enabled"`
	By      string `json:"by"`
	// Via and Seal: set by the signer (see Decision.Seal).
	Via  string        `json:"via,omitempty"`
	Seal *signing.Seal `json:"seal,omitempty"`
}

// Guard runs the guard workflow. A safe-mode switch needs a seal made with
// one of keys (nil refuses every switch).
func Guard(ctx workflow.Context, state GuardState, keys *signing.Keys) error {
	if state.Budgets == nil {
		state.Budgets = map[string][]Reservation{}
	}
	if err := workflow.SetQueryHandler(ctx, QueryGuard, func() (GuardState, error) { return state, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateReserve, func(ctx workflow.Context, r ReserveRequest) (ReserveResult, error) {
		now := workflow.Now(ctx)
		kept := state.Budgets[r.Budget][:0]
		granted := false
		for _, res := range state.Budgets[r.Budget] {
			if now.Sub(res.At) < r.Per {
				kept = append(kept, res)
				if res.Key == r.Key {
					granted = true
				}
			}
		}
		if !granted && len(kept) < r.Max {
			kept = append(kept, Reservation{Key: r.Key, At: now})
			granted = true
		}
		state.Budgets[r.Budget] = kept
		return ReserveResult{Granted: granted, Used: len(kept), Max: r.Max}, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSafeMode, func(ctx workflow.Context, r SafeModeRequest) (GuardState, error) {
		now := workflow.Now(ctx)
		state.SafeMode, state.SafeModeBy, state.SafeModeAt = r.Enabled, r.By, &now
		mode := "off"
		if r.Enabled {
			mode = "on"
		}
		note(ctx, "safe mode "+mode+" by "+who(r.By))
		return state, nil
	}, workflow.UpdateHandlerOptions{Validator: func(r SafeModeRequest) error {
		// Not run on replay: old histories need no version gate, and a
		// refusal is audited once.
		err := keys.Verify(SafeModeClaim(r), r.Seal)
		if err != nil {
			workflow.GetLogger(ctx).Warn("audit: safe mode update refused", "enabled", r.Enabled, "by", r.By, "refusal", err.Error())
		}
		return err
	}}); err != nil {
		return err
	}
	_ = workflow.Await(ctx, func() bool {
		info := workflow.GetInfo(ctx)
		return info.GetCurrentHistoryLength() > guardMaxEvents || info.GetContinueAsNewSuggested()
	})
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	// Drop expired reservations older than a day before carrying state on.
	now := workflow.Now(ctx)
	names := make([]string, 0, len(state.Budgets))
	//workflowcheck:ignore keys are sorted before use
	for name := range state.Budgets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var kept []Reservation
		for _, r := range state.Budgets[name] {
			if now.Sub(r.At) < 24*time.Hour {
				kept = append(kept, r)
			}
		}
		state.Budgets[name] = kept
	}
	return workflow.NewContinueAsNewError(ctx, GuardWorkflow, state)
}
