// Package catalog describes the actions a playbook step may call: their
// names, parameters, outputs and risk class. It holds metadata only; the
// implementations live in the activities package, which builds the one
// explicit catalog the rest of Riposte uses.
package catalog

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/policy"
)

// Risk is an action's risk class. It decides whether a step needs a human.
type Risk string

// The risk classes, from harmless to high-impact.
const (
	RiskRead    Risk = "read"    // looks things up; never changes anything
	RiskNotify  Risk = "notify"  // tells people (tickets, pages, messages)
	RiskContain Risk = "contain" // changes the environment; has an undo
)

// Param types a step's `with` values are checked against.
const (
	TypeString = "string"
	TypeInt    = "int"
	TypeNumber = "number"
	TypeBool   = "bool"
	TypeList   = "list"
	TypeObject = "object"
	TypeAny    = "any"
)

// Param is one input of an action.
type Param struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Required    bool   `json:"required"`
	Description string `json:"description"`
	// Enum, when set, lists the only literal values allowed.
	Enum []string `json:"enum,omitempty"`
}

// Field is one output field of an action.
type Field struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

// Action is one catalog entry. Its Name is also the Temporal activity type.
type Action struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Risk        Risk    `json:"risk"`
	Params      []Param `json:"params"`
	Outputs     []Field `json:"outputs"`
	// Undo names the action that reverses a contain action. It is called with
	// the same params as the original step.
	Undo string `json:"undo,omitempty"`
	// Vendor groups actions for docs ("core", "crowdstrike", ...).
	Vendor string `json:"vendor,omitempty"`
	// AnyParams accepts params not listed in Params (core.noop).
	AnyParams bool `json:"any_params,omitempty"`
	// Progress marks an action that keeps progress between attempts in
	// its heartbeat details (connector.SaveProgress), to find what an
	// earlier attempt did: it runs as a regular activity, whose heartbeat
	// details survive a retry, unless ProgressOptional (see
	// workflows.LocalStep).
	Progress bool `json:"progress,omitempty"`
	// ProgressOptional marks a Progress action whose saved progress only
	// shortens a retry: without it (a local activity cannot heartbeat) an
	// attempt still finds what an earlier one did, so runs from
	// workflows.RevLocalRecoverable on run it as a local activity.
	ProgressOptional bool `json:"progress_optional,omitempty"`
}

// Param returns the named param, if the action has it.
func (a *Action) Param(name string) (Param, bool) {
	for _, p := range a.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// ParamNames lists the action's param names in declaration order.
func (a *Action) ParamNames() []string {
	names := make([]string, len(a.Params))
	for i, p := range a.Params {
		names[i] = p.Name
	}
	return names
}

// Catalog is an immutable set of actions, looked up by name.
type Catalog struct {
	byName map[string]*Action
	names  []string
}

// New builds a catalog and checks it is coherent: unique names, known risk
// classes and param types, and every contain action naming an existing undo.
func New(actions ...Action) (*Catalog, error) {
	c := &Catalog{byName: make(map[string]*Action, len(actions))}
	var problems []string
	for i := range actions {
		a := actions[i]
		if a.Name == "" {
			problems = append(problems, fmt.Sprintf("action #%d has no name", i))
			continue
		}
		if _, dup := c.byName[a.Name]; dup {
			problems = append(problems, fmt.Sprintf("action %s is defined twice", a.Name))
			continue
		}
		switch a.Risk {
		case RiskRead, RiskNotify, RiskContain:
		default:
			problems = append(problems, fmt.Sprintf("action %s: unknown risk %q", a.Name, a.Risk))
		}
		for _, p := range a.Params {
			if !validType(p.Type) {
				problems = append(problems, fmt.Sprintf("action %s: param %s has unknown type %q", a.Name, p.Name, p.Type))
			}
		}
		c.byName[a.Name] = &a
		c.names = append(c.names, a.Name)
	}
	for _, name := range c.names {
		a := c.byName[name]
		if a.Risk == RiskContain {
			if a.Undo == "" {
				problems = append(problems, fmt.Sprintf("contain action %s names no undo action", name))
			} else if _, ok := c.byName[a.Undo]; !ok {
				problems = append(problems, fmt.Sprintf("contain action %s: undo action %s is not in the catalog", name, a.Undo))
			}
		}
	}
	sort.Strings(c.names)
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid action catalog: %s", strings.Join(problems, "; "))
	}
	return c, nil
}

// MustNew is New for catalogs written in code, where an error is a bug.
func MustNew(actions ...Action) *Catalog {
	c, err := New(actions...)
	if err != nil {
		panic(err)
	}
	return c
}

// Lookup returns the named action.
func (c *Catalog) Lookup(name string) (*Action, bool) {
	a, ok := c.byName[name]
	return a, ok
}

var _ policy.Actions = (*Catalog)(nil)

// IsContain reports whether name is in the catalog and whether it is a
// contain action (policy.Actions: budgets count contain actions).
func (c *Catalog) IsContain(name string) (known, contain bool) {
	a, ok := c.byName[name]
	return ok, ok && a.Risk == RiskContain
}

// Names lists all action names, sorted.
func (c *Catalog) Names() []string { return append([]string(nil), c.names...) }

// Actions lists all actions sorted by name.
func (c *Catalog) Actions() []*Action {
	out := make([]*Action, len(c.names))
	for i, n := range c.names {
		out[i] = c.byName[n]
	}
	return out
}

func validType(t string) bool {
	switch t {
	case TypeString, TypeInt, TypeNumber, TypeBool, TypeList, TypeObject, TypeAny:
		return true
	}
	return false
}

// Call is the input of every action activity. It holds no secrets: those are
// resolved inside the activity, never placed in workflow input or history.
type Call struct {
	Action string         `json:"action"`
	Params map[string]any `json:"params"`
	// WorkflowID/RunID/StepID/Index identify the call; IdempotencyKey is
	// derived from them so a retried or replayed call does not act twice.
	WorkflowID     string `json:"workflow_id"`
	RunID          string `json:"run_id"`
	StepID         string `json:"step_id"`
	Index          int    `json:"index"`
	IdempotencyKey string `json:"idempotency_key"`
	// DryRun simulates notify and contain actions: no request leaves the
	// process and the output is synthesised from the catalog.
	DryRun bool `json:"dry_run,omitempty"`
	// ResetFrom: the call's run was reset (Temporal's Reset: the UI,
	// temporal workflow reset); an earlier run of the same workflow id may
	// have made the state the call finds: it is not OutputPreexisting when
	// the same call of the run it was reset from applied it. It is
	// workflow.Info.OriginalRunID, which Temporal keeps across resets: in
	// a reset of a reset the chain's first run, so the worker takes the
	// run it was reset from out of the reset's record in the call's run
	// (system.resetBase) and uses ResetFrom only when it has none.
	ResetFrom string `json:"reset_from,omitempty"`
	// ContinuedFrom: the call's run continues a withdrawn run of the same
	// workflow id that a record reopening its finding reached (workflows
	// Input.ReopenedFrom): containment that run applied and did not undo
	// is the call's own when found in place, as for ResetFrom.
	ContinuedFrom string `json:"continued_from,omitempty"`
	// Guardrail, when set, asks the site guardrails about this contain
	// call inside its own activity, before it acts (runs from
	// workflows.RevGuardInCall on): the activity acts only when they allow
	// it, and returns their decision under GuardrailKey in its output (or
	// in its failure's details) instead of a separate check in the history.
	// Its workflow id, step id, action and params, when empty, are the
	// call's own: the run does not send them twice.
	Guardrail *policy.Request `json:"guardrail,omitempty"`
	// Ahead, on a local call only (never serialized: a local activity
	// gets its arguments as they are), asks the call to run the step after
	// it once it succeeds, in the same call (workflows.RevRunAhead).
	Ahead *Ahead `json:"-"`
}

// Ahead is the next step a local call runs once its own action succeeded:
// one marker in the history for both. The run decides it deterministically
// (workflows.aheadOf); the worker's action registry runs it.
type Ahead struct {
	// Call is the next step's call, Params left to Render.
	Call Call
	// Timeout bounds the next step's action, as its own step's timeout.
	Timeout time.Duration
	// Render gives the next step's params from this call's output, as the
	// run would have rendered them (output as the run decodes it: JSON
	// numbers are float64). It reads only its own copy of the run's state.
	Render func(prev map[string]any) (map[string]any, error)
}

// AheadKey is the output key under which a call made with Ahead returns
// the next step's AheadResult. The run takes it out of the step's output.
const AheadKey = "riposte_ahead"

// AheadResult is how the next step of a call made with Ahead went. Only a
// succeeded one is recorded as the step's result; after any other status
// (failed, timed_out, canceled, or skipped: its action did not run) the
// run calls the step on its own, as it would have without Ahead.
type AheadResult struct {
	Step      string         `json:"step"`
	Action    string         `json:"action"`
	Status    string         `json:"status"`
	Error     string         `json:"error,omitempty"`
	Params    map[string]any `json:"params,omitempty"`
	Output    map[string]any `json:"output,omitempty"`
	StartedAt time.Time      `json:"started_at"`
	EndedAt   time.Time      `json:"ended_at"`
	// FirstEndedAt is when the call's own action ended: the step's end, as
	// the run records it (the call's end includes the next step's run).
	FirstEndedAt time.Time `json:"first_ended_at"`
}

// CheckedSuffix ends the activity type of a contain call that asks the
// guardrails itself (from workflows.RevCheckedActivity on): a worker of a
// release before it does not register that type, so it fails such a task
// instead of acting without the check (a rollback while such runs are in
// flight). The Temporal UI shows e.g. crowdstrike.contain_host+guardrails.
const CheckedSuffix = "+guardrails"

// CheckedActivity is the activity type of action's checked calls.
func CheckedActivity(action string) string { return action + CheckedSuffix }

// ActionOfActivity is the action an activity type runs: its name, without
// CheckedSuffix.
func ActionOfActivity(activityType string) string {
	return strings.TrimSuffix(activityType, CheckedSuffix)
}

// GuardrailKey is the output key under which a call made with Guardrail
// returns the guardrails' decision. The run takes it out of the step's
// output. A call they gate or refuse returns only this key and did not act.
const GuardrailKey = "riposte_guardrail"

// PartiallyApplied is in the error of a contain call that failed after it
// acted on some of its targets (a firewall of several): the containment is
// partly in place, so its budget slot is not given back.
const PartiallyApplied = "partially applied"

// MayHaveReached is in the error of a contain call that failed after its
// request may have reached the vendor (http.request's POST answered 5xx or
// cut off, not retried since it could act twice): the containment may be
// in place, so its budget slot is not given back.
const MayHaveReached = "may have reached the API"

// OutputAlready is the output every contain and undo connector sets true
// when the state it asks for was already there: it sent nothing.
const OutputAlready = "already"

// OutputPreexisting marks a contain call's output when the state it asks
// for was there before the step: its connector found it so ("already") on
// the step's first attempt, with nothing recorded by an earlier attempt,
// so no attempt of the step made it (nor, in a run that was reset, an
// earlier run this one was reset from: Call.ResetFrom). The run neither holds nor rolls back
// such containment: someone else applied it (an analyst, another run),
// and lifting it would undo their decision.
const OutputPreexisting = "preexisting"
