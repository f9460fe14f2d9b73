// Package workflows holds Riposte's workflow code: the playbook interpreter.
// Everything here must be deterministic (no wall clock, no goroutines, no
// map iteration order, no I/O); workflowcheck and replay tests guard it.
package workflows

import (
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
)

// Names shared with workers, clients and the Temporal UI.
const (
	// PlaybookWorkflow is the workflow type of the playbook interpreter for
	// runs started before each playbook ran under its own type (see
	// PlaybookWorkflowType); workers keep it registered for them.
	PlaybookWorkflow = "riposte.playbook"
	// PlaybookRunsQuery selects every playbook run, whatever its workflow
	// type: they all carry PlaybookName from their start.
	PlaybookRunsQuery = "PlaybookName IS NOT NULL"
	// DefaultTaskQueue is where Riposte workers poll.
	DefaultTaskQueue = "riposte"
	// QuerySteps returns the live step states ([]StepResult).
	QuerySteps = "steps"
	// ErrRunFailed is the error type of a run that ended in failure; its
	// details hold the Result.
	ErrRunFailed = "RunFailed"
)

// Run outcomes, as recorded in RunStatus and Result.Status.
const (
	RunRunning   = playbook.StatusRunning
	RunWaiting   = playbook.StatusWaiting
	RunSucceeded = playbook.StatusSucceeded
	RunFailed    = playbook.StatusFailed
	// RunCanceled: the run was cancelled (Temporal UI, tctl) and its code
	// recorded that end; Temporal shows it Completed.
	RunCanceled = playbook.StatusCanceled
)

// PlaybookWorkflowType is the workflow type a playbook's runs start under:
// the playbook's name, so the Temporal UI's list reads like a case list.
// Workers run every such type with one dynamic workflow (RunDynamic).
func PlaybookWorkflowType(playbook string) string { return playbook }

// IsPlaybookWorkflowType reports whether a workflow type is a playbook run:
// riposte.playbook, or a playbook name (names have no dots; every other
// Riposte workflow type is "riposte.<something>").
func IsPlaybookWorkflowType(name string) bool {
	return name == PlaybookWorkflow || (name != "" && !strings.Contains(name, "."))
}

// Input starts one run. Runs started now carry a reference to their
// playbook (PlaybookRef: name, version, digest), and the worker loads that
// exact version from its playbook store (internal/pbstore), so editing a
// playbook affects new runs only and histories stay small. Runs started
// before carry the parsed playbook itself (Playbook, Digest) and still
// replay and finish from it.
type Input struct {
	// Detection comes first, so the UI's input view opens with it.
	Detection map[string]any `json:"detection"`
	// PlaybookRef names the exact playbook version the run executes.
	PlaybookRef *PlaybookRef `json:"playbook_ref,omitempty"`
	// Playbook and Digest are the inline form of runs started before
	// playbooks were passed by reference.
	Playbook *playbook.Playbook `json:"playbook,omitempty"`
	Digest   string             `json:"digest,omitempty"`
	// Finding is the normalized view of the detection, computed at intake
	// (internal/finding). Runs started before it existed get it computed
	// from Detection with the default settings.
	Finding map[string]any `json:"finding,omitempty"`
	// DryRun simulates notify and contain actions and grants approvals.
	DryRun bool `json:"dry_run,omitempty"`
	// Shadow marks a run of a playbook in shadow mode (simulated like DryRun).
	Shadow bool `json:"shadow,omitempty"`
	// UIURL, when set, is the base URL of the Temporal UI (for links).
	UIURL string `json:"ui_url,omitempty"`
	// RunURL links to this run in the Temporal UI (for approval messages).
	RunURL string `json:"run_url,omitempty"`
	// Requester is who submitted the detection, when known; they may not
	// approve the run's gates.
	Requester string `json:"requester,omitempty"`
	// Approval holds the site defaults for gates that do not say otherwise.
	Approval ApprovalDefaults `json:"approval,omitempty"`
	// Rev is the revision of the run's command sequence the starter asks
	// for (see CurrentRev). Runs started without it, including every run
	// recorded before it existed, keep revision 0, which keeps their
	// histories replayable.
	Rev int `json:"rev,omitempty"`
	// ReopenedFrom is the run this one continues (continue-as-new): a
	// withdrawn run that a record reopening its finding reached while it
	// still ran (changeReopenContinues). Its calls carry it
	// (catalog.Call.ContinuedFrom): containment that run applied and did
	// not undo is this run's own when a step finds it in place.
	ReopenedFrom string `json:"reopened_from,omitempty"`
	// Inherited are the holds (contain_for) that run still had: this run
	// releases them when they fall due, unless one of its own steps takes
	// their target over (its call finds it in place).
	Inherited []InheritedHold `json:"inherited,omitempty"`
}

// InheritedHold is a hold a run hands over to the run it continues as.
type InheritedHold struct {
	Step       string           `json:"step"`
	Undo       string           `json:"undo"`
	Until      time.Time        `json:"until"`
	Extensions []string         `json:"extensions,omitempty"`
	Targets    []map[string]any `json:"targets"`
	// ReleaseFailedAt, ReleaseError and FailedTargets hand over a hold
	// whose release failed in the run that hands it over
	// (changeReopenFailedRelease): no run releases it again, and the
	// rollback of the run it continues as undoes FailedTargets, the
	// targets whose undo failed. Targets is then empty, so that a worker
	// of an earlier release skips it (as it was dropped before) rather
	// than release it as a hold still held.
	ReleaseFailedAt *time.Time       `json:"release_failed_at,omitempty"`
	ReleaseError    string           `json:"release_error,omitempty"`
	FailedTargets   []map[string]any `json:"failed_targets,omitempty"`
}

// PlaybookRef is a playbook version: its name, version and digest (the
// sha256 of its source).
type PlaybookRef struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Digest  string `json:"digest"`
}

// PlaybookName is the name of the run's playbook, inline or by reference.
func (in *Input) PlaybookName() string {
	switch {
	case in.PlaybookRef != nil:
		return in.PlaybookRef.Name
	case in.Playbook != nil:
		return in.Playbook.Name
	}
	return ""
}

// Command sequence revisions. Each search attribute upsert costs the server
// one visibility write, so later revisions upsert less.
const (
	// RevOriginal upserts RunStatus=running at start, and ApprovalState and
	// RunStatus in two upserts when a gate opens or closes.
	RevOriginal = 0
	// RevLean relies on the starter having set RunStatus=running in the
	// start request, and upserts ApprovalState and RunStatus together.
	RevLean = 1
	// RevByReference, for runs that carry a reference to their playbook
	// (only workers of this release or later receive those), is the
	// current execution model without a version marker: outcomes and
	// local steps (ModelLocalSteps) are implied, so the run records no
	// marker and no TemporalChangeVersion upsert (a visibility write) that
	// GetVersion would add. Inline runs keep asking GetVersion.
	RevByReference = 2
	// RevLocalRecoverable, also by reference, runs as local activities the
	// actions whose heartbeat progress only shortens a retry
	// (catalog Action.ProgressOptional: jira.create_issue), so a run of the
	// reference playbook keeps one regular activity, the containment, and
	// two workflow tasks instead of three. Starters ask for it only when
	// every worker of the task queue announces it (engine.RevMarker).
	RevLocalRecoverable = 3
	// RevGuardInCall, also by reference, checks a contain step that the
	// playbook runs without a human against the site guardrails inside the
	// step's own activity (catalog.Call.Guardrail) instead of in a local
	// activity before it: one marker fewer per run. A call the guardrails
	// gate or refuse returns their decision without acting; the gate then
	// opens as before and the approved call runs unchecked.
	RevGuardInCall = 4
	// RevCheckedActivity schedules those calls under their own activity
	// type (catalog.CheckedActivity: crowdstrike.contain_host+guardrails),
	// which workers before it do not register: a worker of an older
	// release that polls the task queue (a rollback while such runs are
	// in flight) fails the task instead of acting without the check, as
	// it would on a revision 4 call.
	RevCheckedActivity = 5
	// RevRunAhead, also by reference, lets a local step's call run the
	// step after it when that one would start right after it anyway (see
	// aheadOf): one local activity and one marker for both, whose summary
	// names both steps. A next step that does not succeed there is called
	// on its own, as before.
	RevRunAhead = 6
	// RevWithdrawnAtStart: a run started with a withdrawn finding runs no
	// step and ends withdrawn. The intake starts such runs for a Close that
	// arrived before any record started a run of its finding, so the late
	// Create is deduplicated; an earlier worker would run the playbook.
	RevWithdrawnAtStart = 7
	// RevContainFinishes: a contain action's call in flight when its run
	// is cancelled or aborts is not cancelled: it finishes (its current
	// and remaining attempts) and the run records what it did. Abandoned,
	// it was recorded failed though the vendor may have applied it, and
	// the run's rollback did not undo it. Runs of earlier revisions sent
	// the cancellation.
	RevContainFinishes = 8
	// RevReopenContinues: a withdrawn run that a record reopening its
	// finding reaches while it still runs continues as a new run for the
	// record, handing over what it holds (reopen.go). Only a run started
	// at it does: its workers, and so those of the run it continues as,
	// read Input.ReopenedFrom and Input.Inherited; a worker of an earlier
	// release would take the new run without the holds.
	RevReopenContinues = 9
	// LatestRev is the newest revision this release runs.
	LatestRev = RevReopenContinues
	// CurrentRev is what starters ask for with the playbook inline; runs
	// by reference ask for RevByReference or later.
	CurrentRev = RevLean
)

// ApprovalDefaults are the site's defaults for approval gates.
type ApprovalDefaults struct {
	Users   []string          `json:"users,omitempty"`
	Groups  []string          `json:"groups,omitempty"`
	Timeout playbook.Duration `json:"timeout,omitempty"`
	Channel string            `json:"channel,omitempty"`
}

// Simulated reports whether actions with side effects are simulated.
func (in *Input) Simulated() bool { return in.DryRun || in.Shadow }

// StepResult is one step's state, live (query) or final (result).
type StepResult struct {
	ID        string     `json:"id"`
	Name      string     `json:"name,omitempty"`
	Action    string     `json:"action"`
	Status    string     `json:"status"`
	Params    any        `json:"params,omitempty"` // `with` as rendered (a list for for_each)
	Output    any        `json:"output,omitempty"` // a list for for_each
	Error     string     `json:"error,omitempty"`
	Reason    string     `json:"reason,omitempty"` // why skipped/denied
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// Items holds for_each iterations.
	Items []ItemResult `json:"items,omitempty"`
	// Gate is the step's approval gate, when it had one.
	Gate *Gate `json:"gate,omitempty"`
	// Guardrail is the site policy's decision on the step, when one applied.
	Guardrail *policy.Decision `json:"guardrail,omitempty"`
}

// ItemResult is one for_each iteration.
type ItemResult struct {
	Index  int    `json:"index"`
	Item   any    `json:"item"`
	Status string `json:"status"`
	Params any    `json:"params,omitempty"`
	Output any    `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Result is what a run returns (and, for a failed run, the details of its
// RunFailed error).
type Result struct {
	Playbook string `json:"playbook"`
	Version  int    `json:"version"`
	Digest   string `json:"digest"`
	Status   string `json:"status"`
	// Outcome is what the run achieved (see Outcomes); OutcomeDetail says
	// why a containment did not happen ("isolate denied by U1"). Runs
	// recorded before outcomes existed have neither.
	Outcome       string         `json:"outcome,omitempty"`
	OutcomeDetail string         `json:"outcome_detail,omitempty"`
	Error         string         `json:"error,omitempty"`
	Steps         []StepResult   `json:"steps"`
	Outputs       map[string]any `json:"outputs,omitempty"`
	Gates         []Gate         `json:"gates,omitempty"`
	Holds         []Hold         `json:"holds,omitempty"`
	// RolledBack is set when a rollback undid the run's containment while
	// it was still running (holding).
	RolledBack *RolledBack `json:"rolled_back,omitempty"`
	Simulated  bool        `json:"simulated,omitempty"`
	// Withdrawn is set when the detector withdrew the finding during the run.
	Withdrawn *Withdrawal `json:"withdrawn,omitempty"`
	// Finding is the run's final view when later records changed it, and
	// FindingChanges the updates applied.
	Finding        map[string]any  `json:"finding,omitempty"`
	FindingChanges []FindingChange `json:"finding_changes,omitempty"`
	StartedAt      time.Time       `json:"started_at"`
	EndedAt        time.Time       `json:"ended_at"`
}

// RecordsWithdrawal reports whether the run was started with a withdrawn
// finding and so ran no step (Withdrawal.BeforeStart): metrics count it
// as a withdrawal recorded, not as a run.
func (r *Result) RecordsWithdrawal() bool {
	return r != nil && r.Withdrawn != nil && r.Withdrawn.BeforeStart
}

// Step returns the result of the step with the id.
func (r *Result) Step(id string) (*StepResult, bool) {
	for i := range r.Steps {
		if r.Steps[i].ID == id {
			return &r.Steps[i], true
		}
	}
	return nil, false
}
