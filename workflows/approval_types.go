package workflows

import (
	"time"

	"github.com/riposte-dev/riposte/internal/signing"
)

// Approval names shared by the workflow, the API, the Slack app and the CLI.
const (
	// UpdateDecide delivers a decision on a gate as a Temporal Update; its
	// validator rejects bad votes before anything is recorded.
	UpdateDecide = "decide"
	// SignalDecide delivers a decision while no worker is up (no validator
	// can run then; the workflow applies the same rules when it reads it).
	SignalDecide = "decide"
	// QueryGates returns the run's gates ([]Gate).
	QueryGates = "gates"

	// ActivityOpenGate posts the approval request (Slack message) and
	// resolves approver groups. Input GateRequest, output GateOpened.
	ActivityOpenGate = "riposte.approval.open"
	// ActivityUpdateGate updates the request message after a decision,
	// timeout or escalation. Input GateUpdate.
	ActivityUpdateGate = "riposte.approval.update"
)

// Approval states (ApprovalState search attribute, Gate.State).
const (
	GatePending   = "pending"
	GateApproved  = "approved"
	GateDenied    = "denied"
	GateTimedOut  = "timed_out"
	GateEscalated = "escalated"
)

// How a decision arrived.
const (
	ViaSlack   = "slack"
	ViaAPI     = "api"
	ViaSignal  = "signal"
	ViaTimeout = "timeout"
	ViaPolicy  = "policy"
	ViaDryRun  = "dry_run"
)

// Decision is one vote on a gate.
type Decision struct {
	// GateID names the gate: the step id (plus the for_each index when the
	// gate is per item is not supported; one gate per step).
	GateID  string `json:"gate_id"`
	Approve bool   `json:"approve"`
	User    string `json:"user"`
	Reason  string `json:"reason,omitempty"`
	Via     string `json:"via"`
	// MessageTS, when set, must match the gate's current message (a click
	// on an outdated message, e.g. before escalation, is refused).
	MessageTS string    `json:"message_ts,omitempty"`
	At        time.Time `json:"at"`
	// Seal is the signature Riposte put on the decision where it
	// authenticated the person (API token, Slack); decisions without a
	// valid one are refused (see internal/signing).
	Seal *signing.Seal `json:"seal,omitempty"`
	// Credential names what authenticated User, covered by the seal:
	// "token:<id>" (a personal token), "oidc:<subject>", "dev" (riposte
	// dev's shared token), "slack:<workspace or organisation>". Empty on
	// decisions sealed before it existed, or while a worker of an earlier
	// release polls (it would refuse the seal; see engine.CredentialMarker).
	Credential string `json:"credential,omitempty"`
	// RunID is the run the vote was sealed for, covered by the seal; a
	// run refuses a vote sealed for another run of its workflow id
	// (sealForThisRun). Empty on votes sealed before it existed, or while
	// a worker of an earlier release polls (engine.RunSealMarker).
	RunID string `json:"run_id,omitempty"`
	// Interaction identifies the person's act that made this decision,
	// where its channel names one (a Slack interaction: its user,
	// trigger_id and action), so that the act delivered twice is one
	// decision: Slack resends a Socket Mode envelope whose ack it did not
	// see, possibly to another replica's connection. approvals.Service
	// makes it the Temporal Update's id, and Temporal answers a second
	// Update with that id on the run with the first one's outcome without
	// running it again. Never sent to the run (json "-"): what the run
	// records and replays is unchanged. Empty: every delivery is its own.
	Interaction string `json:"-"`
}

// DecisionResult is what the Update returns.
type DecisionResult struct {
	State     string `json:"state"`
	Approvals int    `json:"approvals"`
	Quorum    int    `json:"quorum"`
}

// GateRequest asks people to decide. It is the input of ActivityOpenGate.
type GateRequest struct {
	WorkflowID string         `json:"workflow_id"`
	RunID      string         `json:"run_id"`
	GateID     string         `json:"gate_id"`
	Playbook   string         `json:"playbook"`
	Version    int            `json:"version"`
	StepID     string         `json:"step_id"`
	StepName   string         `json:"step_name"`
	Action     string         `json:"action"`
	Risk       string         `json:"risk"`
	Params     map[string]any `json:"params"`
	Users      []string       `json:"users"`
	Groups     []string       `json:"groups"`
	Quorum     int            `json:"quorum"`
	Reason     string         `json:"reason_policy"`
	Channel    string         `json:"channel,omitempty"`
	ExpiresAt  time.Time      `json:"expires_at"`
	Escalation bool           `json:"escalation,omitempty"`
	// Why is the rule that put the gate there (playbook approval block,
	// contain risk class, a guardrail).
	Why       string           `json:"why"`
	Detection DetectionSummary `json:"detection"`
	RunURL    string           `json:"run_url,omitempty"`
}

// DetectionSummary is what an approver sees of the detection. All of it is
// untrusted text and must be rendered as plain text.
type DetectionSummary struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Detector   string   `json:"detector"`
	Severity   string   `json:"severity"`
	SeverityID int      `json:"severity_id"`
	Confidence *int     `json:"confidence,omitempty"`
	AttackIDs  []string `json:"attack_ids,omitempty"`
	Host       string   `json:"host,omitempty"`
	User       string   `json:"user,omitempty"`
	IP         string   `json:"ip,omitempty"`
}

// GateOpened is ActivityOpenGate's output.
type GateOpened struct {
	// Approvers is the resolved set: listed users plus group members.
	Approvers []string `json:"approvers"`
	Channel   string   `json:"channel,omitempty"`
	MessageTS string   `json:"message_ts,omitempty"`
	// Posted is false when no Slack is configured (CLI/API approvals only).
	Posted bool `json:"posted"`
}

// ApprovalPosted says whether the request was posted (telemetry.ApprovalPost).
func (o GateOpened) ApprovalPosted() bool { return o.Posted }

// GateUpdate is ActivityUpdateGate's input: the gate's state now.
type GateUpdate struct {
	Request   GateRequest `json:"request"`
	Channel   string      `json:"channel"`
	MessageTS string      `json:"message_ts"`
	Gate      Gate        `json:"gate"`
	// Run is what became of the run after the gate closed: the hold of
	// the gate's step while it is active, the outcome once the run ends.
	// Absent on updates while the gate is open, and from runs recorded
	// before it existed.
	Run *GateRunState `json:"run,omitempty"`
}

// GateRunState is the run's state as a closed gate's message shows it.
type GateRunState struct {
	// Status is RunHolding while a hold is active, RunSucceeded or
	// RunFailed once the run ended.
	Status string `json:"status"`
	// Outcome and OutcomeText (OutcomeText(outcome, detail)) once ended.
	Outcome     string `json:"outcome,omitempty"`
	OutcomeText string `json:"outcome_text,omitempty"`
	// EndedAt is when the run ended.
	EndedAt *time.Time `json:"ended_at,omitempty"`
	// Hold is the time-boxed containment of the gate's step, if any: its
	// release time, extensions and, once released, when.
	Hold *Hold `json:"hold,omitempty"`
	// RunID is the workflow id (for `riposte extend RUN STEP 4h`).
	RunID string `json:"run_id,omitempty"`
}

// Gate is one approval gate's record, kept in the run's result.
type Gate struct {
	ID        string   `json:"id"`
	StepID    string   `json:"step_id"`
	State     string   `json:"state"`
	Why       string   `json:"why"`
	Approvers []string `json:"approvers"`
	Groups    []string `json:"groups,omitempty"`
	Quorum    int      `json:"quorum"`
	Requester string   `json:"requester,omitempty"`
	// Submitters sent later records of the finding that raised the run's
	// view before the gate opened (the record may have chosen its target):
	// like the requester, they may not decide it.
	Submitters []string   `json:"submitters,omitempty"`
	Votes      []Decision `json:"votes,omitempty"`
	// RoundFrom is the index in Votes of the current round's first vote:
	// after an escalation only its own votes count (RoundVotes).
	RoundFrom int `json:"round_from,omitempty"`
	// Decision is the vote (or timeout) that closed the gate.
	Decision  *Decision  `json:"decision,omitempty"`
	OpenedAt  time.Time  `json:"opened_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	Escalated bool       `json:"escalated,omitempty"`
	Channel   string     `json:"channel,omitempty"`
	MessageTS string     `json:"message_ts,omitempty"`
	Params    any        `json:"params,omitempty"`
	Action    string     `json:"action"`
	// Refused lists the latest decisions the gate's rules refused after
	// they arrived as signals (asynchronous decisions, or while no worker
	// was up): their senders got no answer, so the run keeps why. At most
	// MaxRefused, newest last; an Update's refusal is its answer instead.
	Refused []RefusedDecision `json:"refused,omitempty"`
}

// RoundVotes are the votes of the gate's current round: the first round's,
// or after an escalation the escalation's (the first round's stay in Votes
// for the record, but no longer count). Gates recorded before escalation
// quorums have RoundFrom 0: every vote.
func (g Gate) RoundVotes() []Decision { return g.Votes[min(max(g.RoundFrom, 0), len(g.Votes)):] }

// MaxRefused bounds Gate.Refused, so that a flood of bad votes cannot grow
// a run's state.
const MaxRefused = 20

// RefusedDecision is a signalled vote the gate's rules refused.
type RefusedDecision struct {
	User string `json:"user"`
	// Verified: the decision's seal checked out, so User is the identity
	// Riposte authenticated; otherwise User is only what the signal said.
	Verified bool `json:"verified"`
	// Credential is the decision's (see Decision.Credential).
	Credential string    `json:"credential,omitempty"`
	Approve    bool      `json:"approve"`
	Via        string    `json:"via"`
	Refusal    string    `json:"refusal"`
	At         time.Time `json:"at"`
}

// ActivityPolicyCheck checks a contain step against the site's guardrails.
// Input PolicyCheck, output policy.Decision.
const ActivityPolicyCheck = "riposte.policy.check"
