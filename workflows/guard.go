package workflows

import (
	"fmt"
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
	SafeMode   bool   `json:"safe_mode"`
	SafeModeBy string `json:"safe_mode_by,omitempty"`
	// SafeModeCredential is what authenticated SafeModeBy, when the
	// switch's seal covered it.
	SafeModeCredential string                   `json:"safe_mode_credential,omitempty"`
	SafeModeAt         *time.Time               `json:"safe_mode_at,omitempty"`
	Budgets            map[string][]Reservation `json:"budgets,omitempty"`
	// UsedSeals are the seals of the safe-mode switches applied within
	// signing.MaxAge: a switch is accepted once, so one read back from the
	// guard's history cannot be sent again while it is still fresh (after
	// that it is refused as stale, and forgotten). Carried across
	// continue-as-new; the query leaves them out.
	UsedSeals []UsedSeal `json:"used_seals,omitempty"`
}

// UsedSeal is a seal already used: its MAC (unique per request: it covers
// the time of signing) and when it was made.
type UsedSeal struct {
	MAC string    `json:"mac"`
	At  time.Time `json:"at"`
}

// freshSeals keeps the used seals that are not stale at now (a stale one
// is refused by its age anyway).
func freshSeals(used []UsedSeal, now time.Time) []UsedSeal {
	var kept []UsedSeal
	for _, u := range used {
		if now.Sub(u.At) <= signing.MaxAge {
			kept = append(kept, u)
		}
	}
	return kept
}

// view is the state as the query and the safe-mode Update answer it.
func (s GuardState) view() GuardState {
	s.UsedSeals = nil
	return s
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
	// Credential: what authenticated By, covered by the seal (see
	// ExtendRequest.Credential).
	Credential string `json:"credential,omitempty"`
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
	if err := workflow.SetQueryHandler(ctx, QueryGuard, func() (GuardState, error) { return state.view(), nil }); err != nil {
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
		state.SafeMode, state.SafeModeBy, state.SafeModeAt, state.SafeModeCredential = r.Enabled, r.By, &now, r.Credential
		// State only (no command): histories recorded before replay the same.
		state.UsedSeals = freshSeals(state.UsedSeals, now)
		if r.Seal != nil {
			state.UsedSeals = append(state.UsedSeals, UsedSeal{MAC: r.Seal.MAC, At: r.Seal.At})
		}
		mode := "off"
		if r.Enabled {
			mode = "on"
		}
		note(ctx, safeModeSummary(mode, r.By))
		return state.view(), nil
	}, workflow.UpdateHandlerOptions{Validator: func(r SafeModeRequest) error {
		// Not run on replay: old histories need no version gate, and a
		// refusal is audited once. A seal is used once, while fresh.
		err := keys.Verify(SafeModeClaim(r), r.Seal)
		if err == nil {
			err = keys.Retired(r.Seal, workflow.Now(ctx))
		}
		if err == nil {
			err = signing.Fresh(r.Seal, workflow.Now(ctx))
		}
		if err == nil {
			for _, u := range state.UsedSeals {
				if u.MAC == r.Seal.MAC {
					err = fmt.Errorf("%w: this safe-mode switch by %s was already applied; switch again through Riposte", signing.ErrReplayed, who(r.By))
					break
				}
			}
		}
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
	state.UsedSeals = freshSeals(state.UsedSeals, now)
	return workflow.NewContinueAsNewError(ctx, GuardWorkflow, state)
}
