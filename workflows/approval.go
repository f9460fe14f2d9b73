package workflows

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/identity"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

// Gate defaults when neither the step nor the site says otherwise.
const (
	DefaultGateTimeout = 30 * time.Minute
	gateActivityTime   = time.Minute
)

// gateState is a live gate: its record plus what the workflow needs to run it.
type gateState struct {
	Gate
	quorum    int
	reason    string
	onTimeout string
	escalate  *playbook.Escalation
	request   GateRequest
	// open is true when nobody was named as approver (neither the step nor
	// the site): then anyone but the requester may decide. When approvers
	// were named but none could be resolved, nobody may: fail closed.
	open bool
	// round is the current round's timeout (first round or escalation).
	round time.Duration
	// opening is true while the request is being posted and approvers
	// resolved: no vote is accepted until the approver set is known.
	opening bool
	// unasked is true when the request of the current round could not be
	// posted (its activity failed): nobody was notified.
	unasked bool
	// askedAt is when the current round's request was posted (or its
	// posting gave up); busyUntil is when the gate loop's last message
	// update that started before the deadline ended (the loop does not
	// wait on the deadline meanwhile). See silenceNotConsent.
	askedAt, busyUntil time.Time
}

// WhyApprovalIf starts a gate's Why when the step's approval.if held; the
// playbook's condition follows (the Slack app shows it as code).
const WhyApprovalIf = "approval.if: "

// needsGate decides whether a step waits for a human, and why.
func (r *run) needsGate(cs *playbook.CStep, env map[string]any) (bool, string, error) {
	a := cs.Step.Approval
	contain := cs.Action != nil && cs.Action.Risk == catalog.RiskContain
	switch {
	case a != nil && a.Auto:
		return false, "approval: auto", nil
	case a != nil && cs.ApprovalIf != nil:
		ok, err := cs.ApprovalIf.EvalBool(env) //workflowcheck:ignore expressions are pure
		if err != nil {
			return false, "", fmt.Errorf("approval.if: %w", err)
		}
		if ok {
			return true, WhyApprovalIf + cs.ApprovalIf.Source, nil
		}
		return false, "approval.if is false: " + cs.ApprovalIf.Source, nil
	case a != nil:
		return true, "the step has an approval block", nil
	case contain:
		return true, fmt.Sprintf("%s is a contain action", cs.Action.Name), nil
	}
	return false, "", nil
}

// registerApprovalHandlers installs the decide Update (with its validator),
// the decide signal (for decisions while no worker is up) and the gates query.
func (r *run) registerApprovalHandlers(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDecide,
		func(ctx workflow.Context, d Decision) (DecisionResult, error) {
			r.useSeal(d.Seal)
			return r.applyDecision(ctx, d)
		},
		// Validators do not run on replay, so the seal check needs no
		// version gate here, and the refusal's audit record is written
		// once (a rejected Update leaves no history).
		workflow.UpdateHandlerOptions{Validator: func(d Decision) error {
			err := r.checkSeal(d)
			if err == nil {
				err = r.in.Keys.Retired(d.Seal, workflow.Now(ctx))
			}
			if err == nil {
				err = r.sealForThisRun(d.RunID)
			}
			if err == nil {
				err = r.checkSealOnce(d.Seal, workflow.Now(ctx), voteName(d))
			}
			// A vote sealed before the deadline counts, also when the
			// Update reached the run after it (it waited for a worker).
			if err == nil && !r.sealedBeforeDeadline(d) {
				err = r.checkDeadline(d, workflow.Now(ctx))
			}
			if err == nil {
				err = r.validateDecision(d)
			}
			if err == nil {
				err = r.checkSubmitter(d)
			}
			if err != nil {
				workflow.GetLogger(ctx).Warn("audit: decision update refused", "gate", d.GateID, "user", d.User, "via", d.Via, "refusal", err.Error())
			}
			return err
		}},
	); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryGates, func() ([]Gate, error) { return r.gateList(), nil }); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, SignalDecide)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var d Decision
			ch.Receive(ctx, &d)
			// A signal skips the Update validator, so the same rules run
			// here; a refused signal is logged and changes nothing.
			// Runs recorded before decisions were signed replay without
			// the seal check (their signals carry none).
			var err error
			sealed := false
			if workflow.GetVersion(ctx, ChangeSignedDecisions, workflow.DefaultVersion, 1) >= 1 {
				err = r.checkSeal(d)
				sealed = err == nil
			}
			// A signal may wait for a worker, so its seal's age says
			// little (but it cannot predate the run); each sealed vote is
			// received once, even a refused one (it stays in the history).
			// The version is asked for only for a repeat (a marker is an
			// event and a search attribute upsert: not on every vote);
			// remembering the seal is state only.
			if sealed {
				err = r.sealFromEarlierRun(ctx, d.Seal)
				if err == nil {
					err = r.sealForThisRun(d.RunID)
				}
				if err == nil {
					err = retiredKey(ctx, r.in.Keys, d.Seal, workflow.Now(ctx))
				}
				if r.sealUsed(d.Seal) && workflow.GetVersion(ctx, ChangeSealsUsedOnce, workflow.DefaultVersion, 1) >= 1 {
					err = fmt.Errorf("%w: %s was already received; send a new one through Riposte", signing.ErrReplayed, voteName(d))
				}
				r.useSeal(d.Seal)
			}
			// The deadline wins over a vote read after it, even while the
			// run was busy (updating the request message) when the timer
			// would have fired, unless Riposte sealed it before the
			// deadline (sealedInTime). Runs recorded before (where such a
			// vote counted) replay unchanged.
			if err == nil {
				if derr := r.checkDeadline(d, workflow.Now(ctx)); derr != nil &&
					workflow.GetVersion(ctx, ChangeVoteDeadline, workflow.DefaultVersion, 1) >= 1 &&
					!r.sealedInTime(ctx, d, sealed) {
					err = derr
				}
			}
			if err == nil {
				err = r.validateDecision(d)
			}
			// Runs recorded before let such a vote count.
			if err == nil {
				if serr := r.checkSubmitter(d); serr != nil &&
					workflow.GetVersion(ctx, ChangeUpdateSubmitters, workflow.DefaultVersion, 1) >= 1 {
					err = serr
				}
			}
			if err != nil {
				workflow.GetLogger(ctx).Warn("audit: decision signal refused", "gate", d.GateID, "user", d.User, "via", d.Via, "refusal", err.Error())
				r.keepRefusal(ctx, d, err, sealed)
				continue
			}
			if d.Via == "" {
				d.Via = ViaSignal
			}
			_, _ = r.applyDecision(ctx, d)
		}
	})
	return nil
}

// ChangeVoteDeadline gates, on the decide signal, the refusal of a vote
// read after its gate's deadline (checkDeadline); the Update validator
// needs no gate (validators do not run on replay).
const ChangeVoteDeadline = "gate-vote-deadline"

// changeQueuedVoteInTime: a signalled vote read after its gate's deadline
// counts when Riposte sealed it before the deadline (sealedInTime). Asked
// only for such a vote.
const changeQueuedVoteInTime = "queued-vote-in-time"

// sealedInTime reports whether d, a signalled vote read after its gate's
// deadline, was sealed before it: the person acted in time, and the vote
// waited as a signal for a worker (none was up: a restart, a deploy, an
// outage). Riposte seals a vote when it receives it, so the seal's time
// is when the person acted; the deadline then judges that time, not when
// a worker came back (which left an approver's in-time deny refused and
// on_timeout: approve containing). Only a seal that checked out counts.
func (r *run) sealedInTime(ctx workflow.Context, d Decision, sealed bool) bool {
	if !sealed || !r.sealedBeforeDeadline(d) {
		return false
	}
	return workflow.GetVersion(ctx, changeQueuedVoteInTime, workflow.DefaultVersion, 1) >= 1
}

// sealedBeforeDeadline reports whether d, whose seal checked out, was
// sealed before its pending gate's deadline (sealedInTime; the Update
// validator, which needs no version gate: validators do not run on replay).
func (r *run) sealedBeforeDeadline(d Decision) bool {
	g := r.gates[d.GateID]
	return d.Seal != nil && g != nil && g.State == GatePending && d.Seal.At.Before(g.ExpiresAt)
}

// checkDeadline refuses a vote on an open gate whose deadline (ExpiresAt,
// moved by an escalation) has passed at now: the gate follows on_timeout,
// even if the run has not acted on its timer yet because it was busy (an
// activity updating the request message after the previous vote blocks
// the gate's loop for up to five minutes). Other gates pass.
func (r *run) checkDeadline(d Decision, now time.Time) error {
	g := r.gates[d.GateID]
	if g == nil || g.State != GatePending || now.Before(g.ExpiresAt) {
		return nil
	}
	then := "on_timeout: " + g.onTimeout
	if g.Escalated {
		then = "after its escalation"
	}
	return fmt.Errorf("the gate on step %s expired at %s (%s); the vote came too late", g.StepID, g.ExpiresAt.UTC().Format(time.RFC3339), then)
}

// voteName names a vote in refusals.
func voteName(d Decision) string {
	return fmt.Sprintf("this vote by %s on step %s", d.User, d.GateID)
}

// keepRefusal records a refused signalled vote on its gate (state only, no
// command: old histories replay unchanged). A vote for no gate of this run
// is in the audit log only. sealed says the seal checked out, so User is
// the identity Riposte authenticated, not just a name in the signal.
func (r *run) keepRefusal(ctx workflow.Context, d Decision, err error, sealed bool) {
	g := r.gates[d.GateID]
	if g == nil {
		return
	}
	g.Refused = append(g.Refused, RefusedDecision{User: d.User, Verified: sealed, Credential: d.Credential, Approve: d.Approve, Via: d.Via, Refusal: err.Error(), At: workflow.Now(ctx)})
	if n := len(g.Refused); n > MaxRefused {
		g.Refused = append([]RefusedDecision(nil), g.Refused[n-MaxRefused:]...)
	}
}

func (r *run) gateList() []Gate {
	out := make([]Gate, 0, len(r.gateOrder))
	for _, id := range r.gateOrder {
		out = append(out, r.gates[id].Gate)
	}
	return out
}

// validateDecision refuses a vote before anything is recorded. It must not
// change state.
func (r *run) validateDecision(d Decision) error {
	g, ok := r.gates[d.GateID]
	if !ok {
		var open []string
		for _, id := range r.gateOrder {
			if r.gates[id].State == GatePending {
				open = append(open, id)
			}
		}
		if len(open) == 0 {
			return fmt.Errorf("this run has no gate %q and none is open", d.GateID)
		}
		return fmt.Errorf("this run has no gate %q; open gates: %s", d.GateID, strings.Join(open, ", "))
	}
	user := strings.TrimSpace(d.User)
	switch {
	case user == "":
		return fmt.Errorf("a decision needs the deciding user")
	case g.State != GatePending:
		by := ""
		if g.Decision != nil && g.Decision.User != "" {
			by = " by " + g.Decision.User
		}
		return fmt.Errorf("the gate on step %s is closed (%s%s)", g.StepID, g.State, by)
	case d.MessageTS != "" && g.MessageTS != "" && d.MessageTS != g.MessageTS:
		return fmt.Errorf("this request message is out of date (the gate was escalated); use the latest message")
	case g.Requester != "" && identity.Equal(user, g.Requester):
		return fmt.Errorf("%s requested this action and cannot approve it; another approver must decide", user)
	case g.opening && len(g.Groups) > 0 && !containsFold(g.Approvers, user):
		// Group members are known only once the request is posted.
		return fmt.Errorf("the gate on step %s is still being opened; try again in a moment", g.StepID)
	case len(g.Approvers) == 0 && !g.open:
		return fmt.Errorf("no approver could be resolved for step %s (the named groups have no members, or Slack is unavailable); the gate will follow on_timeout", g.StepID)
	case len(g.Approvers) > 0 && !containsFold(g.Approvers, user):
		return fmt.Errorf("%s is not an approver for step %s", user, g.StepID)
	}
	// Once per round: an escalation's approver who voted in the first
	// round votes again.
	for _, v := range g.RoundVotes() {
		if identity.Equal(v.User, user) {
			return fmt.Errorf("%s has already voted on step %s", user, g.StepID)
		}
	}
	reason := strings.TrimSpace(d.Reason)
	if reason == "" && (g.reason == playbook.ReasonRequired || (g.reason == playbook.ReasonOnDeny && !d.Approve)) {
		return fmt.Errorf("a reason is required to %s step %s", verb(d.Approve), g.StepID)
	}
	return nil
}

func verb(approve bool) string {
	if approve {
		return "approve"
	}
	return "deny"
}

// ChangeUpdateSubmitters gates, on the decide signal, the refusal of a vote
// by a gate's Submitters; asked only when it refuses.
const ChangeUpdateSubmitters = "four-eyes-update-submitters"

// checkSubmitter refuses a decision by someone whose later record of the
// finding raised the run's view before the gate opened (Gate.Submitters):
// the record may have chosen the target, and four-eyes says its sender
// does not decide the action, as for the requester.
func (r *run) checkSubmitter(d Decision) error {
	g := r.gates[d.GateID]
	if g == nil || !containsFold(g.Submitters, strings.TrimSpace(d.User)) {
		return nil
	}
	return fmt.Errorf("%s sent a record of this finding that the gate on step %s acts on, and cannot decide it; another approver must", strings.TrimSpace(d.User), g.StepID)
}

// containsFold compares identities the one way Riposte compares them
// everywhere (NFKC, case folding, invisible characters removed).
func containsFold(list []string, s string) bool {
	return identity.Contains(list, s)
}

// checkSeal refuses a decision Riposte did not sign where it authenticated
// the deciding person: one sent to Temporal directly (tctl, the frontend's
// HTTP API, a gRPC client) or altered on the way. Deterministic.
func (r *run) checkSeal(d Decision) error {
	if err := r.in.Keys.Verify(DecisionClaim(r.info.WorkflowExecution.ID, d), d.Seal); err != nil {
		return err
	}
	switch d.Via {
	case "", ViaTimeout, ViaPolicy, ViaDryRun, ViaSignal:
		// Channels only the workflow itself uses.
		return fmt.Errorf("a decision must arrive through Slack or the API, not %q", d.Via)
	}
	return nil
}

// applyDecision records a validated vote and closes the gate when it is
// decided: any deny closes it, quorum distinct approvals open it.
func (r *run) applyDecision(ctx workflow.Context, d Decision) (DecisionResult, error) {
	g := r.gates[d.GateID]
	if g == nil || g.State != GatePending {
		return DecisionResult{}, fmt.Errorf("gate %q is not open", d.GateID)
	}
	d.User = strings.TrimSpace(d.User)
	d.Reason = strings.TrimSpace(d.Reason)
	d.At = workflow.Now(ctx)
	if d.Via == "" {
		d.Via = ViaAPI
	}
	g.Votes = append(g.Votes, d)
	approvals := 0
	for _, v := range g.RoundVotes() {
		if v.Approve {
			approvals++
		}
	}
	if !d.Approve {
		r.closeGate(ctx, g, GateDenied, &d)
	} else if approvals >= g.quorum {
		r.closeGate(ctx, g, GateApproved, &d)
	}
	res := DecisionResult{State: g.State, Approvals: approvals, Quorum: g.quorum}
	if d.Via != ViaDryRun {
		note(ctx, decisionSummary(d, res))
	}
	return res, nil
}

func (r *run) closeGate(ctx workflow.Context, g *gateState, state string, d *Decision) {
	now := workflow.Now(ctx)
	g.State = state
	g.Decision = d
	g.ClosedAt = &now
	if d == nil || d.Via != ViaDryRun {
		// Replay-safe (workflow metrics handler); simulated gates wait 0s.
		telemetry.RecordApprovalDecision(ctx, state, now.Sub(g.OpenedAt))
	}
	r.upsertApprovalState(ctx)
}

// approvalState summarises the run's gates for the ApprovalState attribute.
func (r *run) approvalState() string {
	state := ""
	rank := map[string]int{GateApproved: 1, GateWithdrawn: 2, GateTimedOut: 2, GateDenied: 3, GateEscalated: 4, GatePending: 5}
	for _, id := range r.gateOrder {
		g := r.gates[id]
		s := g.State
		if s == GatePending && g.Escalated {
			s = GateEscalated
		}
		if rank[s] > rank[state] {
			state = s
		}
	}
	return state
}

func (r *run) upsertApprovalState(ctx workflow.Context) {
	state := r.approvalState()
	if state == "" {
		return
	}
	status := RunRunning
	if state == GatePending || state == GateEscalated {
		status = RunWaiting
	}
	if r.input.Rev >= RevLean {
		workflow.SetCurrentDetails(ctx, r.details(status))
		if err := workflow.UpsertTypedSearchAttributes(ctx, SAApprovalState.ValueSet(state), SARunStatus.ValueSet(status)); err != nil {
			workflow.GetLogger(ctx).Warn("cannot update ApprovalState and RunStatus", "error", err)
		}
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAApprovalState.ValueSet(state)); err != nil {
		workflow.GetLogger(ctx).Warn("cannot update ApprovalState", "error", err)
	}
	r.setRunStatus(ctx, status)
}

// gate runs a step's approval gate and returns whether the step may run.
// On a refusal it returns the step status (denied or timed_out) and why.
// forced is the guardrail decision when the site policy forced the gate
// (nil: the playbook asked for it).
func (r *run) gate(ctx workflow.Context, i int, cs *playbook.CStep, params map[string]any, why string, forced *policy.Decision) (bool, string, string) {
	byPolicy := forced != nil
	// policy.yaml's approvers decide what the policy forced, not the
	// playbook's author (decisions recorded before carry none).
	policyApprovers := byPolicy && len(forced.Approvers) > 0
	now := workflow.Now(ctx)
	a := cs.Step.Approval
	if a == nil {
		a = &playbook.Approval{}
	}
	users := a.Approvers.Users
	groups := a.Approvers.Groups
	if len(users) == 0 && len(groups) == 0 {
		users, groups = r.input.Approval.Users, r.input.Approval.Groups
	}
	timeout := a.Timeout.D()
	if timeout <= 0 {
		timeout = r.input.Approval.Timeout.D()
	}
	if timeout <= 0 {
		timeout = DefaultGateTimeout
	}
	quorum := max(a.Quorum, 1)
	if policyApprovers {
		// At most their number: the playbook's quorum counted its own.
		users, groups = forced.Approvers, nil
		quorum = min(quorum, len(forced.Approvers))
	}
	channel := a.Channel
	if channel == "" {
		channel = r.input.Approval.Channel
	}
	g := &gateState{
		Gate: Gate{
			ID: cs.ID, StepID: cs.ID, State: GatePending, Why: why,
			Groups: groups, Quorum: quorum, Requester: r.input.Requester, Submitters: slices.Clone(r.submitters),
			OpenedAt: now, ExpiresAt: now.Add(timeout), Params: params, Action: cs.Step.Action,
		},
		quorum:    quorum,
		reason:    a.Reason,
		onTimeout: a.OnTimeout,
		escalate:  a.EscalateTo,
		open:      len(users) == 0 && len(groups) == 0,
		round:     timeout,
	}
	if g.onTimeout == "" {
		g.onTimeout = playbook.OnTimeoutDeny
	}
	// A gate the site policy forced (protected asset, safe mode, budget,
	// guardrails unavailable) needs a human: the playbook's on_timeout:
	// approve would contain without one, so it is denied on timeout instead.
	// Runs recorded before replay as they ran.
	if byPolicy && g.onTimeout == playbook.OnTimeoutApprove && !r.input.Simulated() &&
		workflow.GetVersion(ctx, changePolicyGateNoAutoApprove, workflow.DefaultVersion, 1) >= 1 {
		g.onTimeout = playbook.OnTimeoutDeny
	}
	if policyApprovers && g.onTimeout == playbook.OnTimeoutEscalate {
		// The playbook's escalate_to would hand a protected target back
		// to approvers the policy did not name.
		g.onTimeout = playbook.OnTimeoutDeny
	}
	r.gates[g.ID] = g
	r.gateOrder = append(r.gateOrder, g.ID)
	r.results[i].Gate = &g.Gate

	if r.input.Simulated() {
		d := &Decision{GateID: g.ID, Approve: true, User: "riposte", Reason: "simulated approval (dry run / shadow)", Via: ViaDryRun, At: now}
		g.Votes = append(g.Votes, *d)
		g.Approvers = users
		r.closeGate(ctx, g, GateApproved, d)
		return true, "", ""
	}

	g.request = r.gateRequest(ctx, cs, g, params, users, groups, channel, false)
	r.setStatus(ctx, i, playbook.StatusWaiting)
	r.openGate(ctx, g, users)
	r.upsertApprovalState(ctx)

	for g.State == GatePending {
		seen := len(g.Votes)
		now := workflow.Now(ctx)
		remaining := g.ExpiresAt.Sub(now)
		then := g.onTimeout
		switch {
		case then == playbook.OnTimeoutApprove && g.silenceNotConsent(now) != "":
			then = "time out: on_timeout: approve will not apply, nobody could answer"
		case then == playbook.OnTimeoutEscalate && g.Escalated:
			then = "time out: escalated once already"
		}
		// The timer's summary is what the Temporal UI shows for it.
		decided, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
			Timeout:      remaining,
			TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("approval for %s: times out in %s (then %s)", g.StepID, remaining.Round(time.Second), then)},
		}, func() bool {
			return g.State != GatePending || len(g.Votes) != seen
		})
		if err != nil { // cancelled: the run is aborting, or was cancelled
			r.closeGate(ctx, g, GateDenied, &Decision{GateID: g.ID, Via: ViaPolicy, Reason: r.stopReason(), At: workflow.Now(ctx)})
			break
		}
		if decided {
			started := workflow.Now(ctx)
			r.updateGateMessage(ctx, g)
			if started.Before(g.ExpiresAt) {
				// A vote read in time: the update may run past the
				// deadline (Slack rate limits), which is not lateness.
				// One read after it (queued while no worker was up)
				// excuses nothing.
				g.busyUntil = workflow.Now(ctx)
			}
			continue
		}
		r.onGateTimeout(ctx, cs, g, params)
	}
	r.updateGateMessage(ctx, g)
	r.results[i].Gate = &g.Gate
	switch g.State {
	case GateApproved:
		return true, "", ""
	case GateTimedOut:
		msg := fmt.Sprintf("approval timed out after %s", playbook.Duration(g.round))
		if g.Decision != nil && strings.HasPrefix(g.Decision.Reason, ReasonTimeoutNotApplied) {
			msg += "; " + g.Decision.Reason
		}
		return false, playbook.StatusTimedOut, msg
	case GateWithdrawn:
		return false, playbook.StatusSkipped, "gate withdrawn: " + g.Decision.Reason
	default:
		who := ""
		if g.Decision != nil {
			who = fmt.Sprintf(" by %s", g.Decision.User)
			if g.Decision.Reason != "" {
				who += ": " + g.Decision.Reason
			}
		}
		return false, playbook.StatusDenied, "approval denied" + who
	}
}

// changePolicyGateNoAutoApprove: a policy-forced gate is not approved by
// its timeout.
const changePolicyGateNoAutoApprove = "policy-gate-no-auto-approve"

// changeEscalationQuorum: an escalation needs escalate_to.quorum approvals
// of its own.
const changeEscalationQuorum = "escalation-quorum"

// changeEscalationSiteTimeout: an escalation without a timeout of its own
// waits the site's default approval timeout, not 30 minutes.
const changeEscalationSiteTimeout = "escalation-site-timeout"

// changeSilenceNotConsent: on_timeout: approve applies only when the
// approvers were asked and could answer until the deadline
// (gateState.silenceNotConsent); otherwise the gate times out. Asked only
// when one of them fails, so other runs record no marker.
const changeSilenceNotConsent = "timeout-approve-needs-asked"

// LateTimeoutGrace is how long after its deadline a gate's timeout may be
// acted on and still approve by on_timeout: approve. Acting on it later
// means workers or Temporal were down (or stalled): votes clicked in that
// time were not received, so the silence is nobody's consent. Time the
// gate's loop spends updating its request message past the deadline
// (busyUntil) is not counted; the grace covers a worker restart or a
// short backlog of workflow tasks.
const LateTimeoutGrace = 10 * time.Minute

// ReasonTimeoutNotApplied starts the decision reason of a gate whose
// on_timeout: approve was not applied (silenceNotConsent).
const ReasonTimeoutNotApplied = "on_timeout: approve not applied: "

// silenceNotConsent says why nobody deciding g by its deadline does not
// approve it at now, or "" when on_timeout: approve applies: the request
// could not be posted (nobody was notified), no approver could be resolved
// or every one is the requester or a submitter (nobody may vote), the
// request was posted with less than half the round's time left, or the
// timeout is acted on more than LateTimeoutGrace after the deadline (or
// after the loop's last message update that ran past it).
func (g *gateState) silenceNotConsent(now time.Time) string {
	if g.unasked {
		return ReasonTimeoutNotApplied + "the approval request could not be posted, so nobody was asked"
	}
	if len(g.Approvers) == 0 && !g.open {
		return ReasonTimeoutNotApplied + "no approver could be resolved (the named groups have no members), so nobody could answer"
	}
	if !g.open && !slices.ContainsFunc(g.Approvers, func(a string) bool {
		return !identity.Equal(a, g.Requester) && !containsFold(g.Submitters, a)
	}) {
		return ReasonTimeoutNotApplied + "every approver is the run's requester or sent the record it acts on, who may not decide it, so nobody could answer"
	}
	if left := g.ExpiresAt.Sub(g.askedAt); !g.askedAt.IsZero() && left < g.round/2 {
		return fmt.Sprintf("%sthe approval request was posted only at %s, with %s of the %s to answer left, so approvers had no fair chance to answer",
			ReasonTimeoutNotApplied, g.askedAt.UTC().Format(time.RFC3339), max(left, 0).Round(time.Second), playbook.Duration(g.round))
	}
	// Late from when the deadline could first be acted on: a loop busy
	// updating the request message past the deadline (an update started
	// before it, workers up, votes received) acts on it when the update
	// ends.
	if late := now.Sub(maxTime(g.ExpiresAt, g.busyUntil)); late > LateTimeoutGrace {
		return fmt.Sprintf("%sthe gate expired at %s, but the run acted on it only at %s, %s late (workers or Temporal were down or stalled), and approvers could not answer meanwhile",
			ReasonTimeoutNotApplied, g.ExpiresAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), late.Round(time.Second))
	}
	return ""
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// onGateTimeout applies on_timeout: deny, approve, or escalate once.
func (r *run) onGateTimeout(ctx workflow.Context, cs *playbook.CStep, g *gateState, params map[string]any) {
	now := workflow.Now(ctx)
	d := &Decision{GateID: g.ID, Via: ViaTimeout, User: "riposte", At: now}
	switch {
	case g.onTimeout == playbook.OnTimeoutApprove:
		if why := g.silenceNotConsent(now); why != "" &&
			workflow.GetVersion(ctx, changeSilenceNotConsent, workflow.DefaultVersion, 1) >= 1 {
			d.Reason = why
			r.closeGate(ctx, g, GateTimedOut, d)
			return
		}
		d.Approve, d.Reason = true, "approved on timeout (on_timeout: approve)"
		r.closeGate(ctx, g, GateApproved, d)
	case g.onTimeout == playbook.OnTimeoutEscalate && !g.Escalated && g.escalate != nil:
		// Close the first message, then ask the next approvers.
		prev := g.Gate
		prev.State = GateEscalated
		// The closed message says who it was escalated to: the next
		// approvers, not this round's (an activity input only: replay-safe).
		prev.Approvers, prev.Groups = sortedUnique(g.escalate.Users), g.escalate.Groups
		r.updateGateMessageAs(ctx, g, prev)
		g.Escalated = true
		timeout := g.escalate.Timeout.D()
		if site := r.input.Approval.Timeout.D(); timeout <= 0 && site > 0 && site != DefaultGateTimeout &&
			workflow.GetVersion(ctx, changeEscalationSiteTimeout, workflow.DefaultVersion, 1) >= 1 {
			// Without its own timeout the escalation waits as long as the
			// site's default (RIPOSTE_APPROVAL_TIMEOUT), like a first round.
			timeout = site
		}
		if timeout <= 0 {
			timeout = DefaultGateTimeout
		}
		g.ExpiresAt = now.Add(timeout)
		g.round = timeout
		g.Groups = g.escalate.Groups
		// The escalation has its own quorum (escalate_to.quorum, default
		// 1): the first round's quorum applied to the escalation's
		// approvers could leave a lone CISO unable to approve. Runs
		// recorded before keep the first round's quorum on replay.
		if workflow.GetVersion(ctx, changeEscalationQuorum, workflow.DefaultVersion, 1) >= 1 {
			g.quorum = max(g.escalate.Quorum, 1)
			g.Quorum = g.quorum
			g.RoundFrom = len(g.Votes)
		}
		// The escalation's approvers replace the first round's; nobody
		// named means nobody may decide (fail closed).
		g.open = false
		g.request = r.gateRequest(ctx, cs, g, params, g.escalate.Users, g.escalate.Groups, g.request.Channel, true)
		r.openGate(ctx, g, g.escalate.Users)
		r.upsertApprovalState(ctx)
	default:
		d.Reason = "no decision before the gate timed out"
		r.closeGate(ctx, g, GateTimedOut, d)
	}
}

func (r *run) gateRequest(ctx workflow.Context, cs *playbook.CStep, g *gateState, params map[string]any, users, groups []string, channel string, escalation bool) GateRequest {
	risk := ""
	if cs.Action != nil {
		risk = string(cs.Action.Risk)
	}
	return GateRequest{
		WorkflowID: r.info.WorkflowExecution.ID, RunID: r.info.WorkflowExecution.RunID, GateID: g.ID,
		Playbook: r.pb.Playbook.Name, Version: r.pb.Playbook.Version,
		StepID: cs.ID, StepName: cs.Title(), Action: cs.Step.Action, Risk: risk, Params: params,
		Users: users, Groups: groups, Quorum: g.quorum, Reason: g.reason, Channel: channel,
		ExpiresAt: g.ExpiresAt, Escalation: escalation, Why: g.Why,
		Detection: r.detectionSummary(ctx), RunURL: r.input.RunURL,
	}
}

// openGate posts the request (Slack, when configured) and records the
// resolved approvers. If posting fails the gate stays open for API and CLI
// decisions, and the failure is logged.
func (r *run) openGate(ctx workflow.Context, g *gateState, users []string) {
	// Until the groups are resolved, only the listed users may decide.
	g.opening = true
	g.Approvers = sortedUnique(users)
	defer func() { g.opening = false }()
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: gateActivityTime,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: time.Second},
		Summary:             "approval request: " + g.StepID,
	})
	var opened GateOpened
	err := workflow.ExecuteActivity(actx, ActivityOpenGate, g.request).Get(ctx, &opened)
	g.unasked, g.askedAt = err != nil, workflow.Now(ctx)
	if err != nil {
		workflow.GetLogger(ctx).Error("posting approval request failed; decide through the API or CLI", "step", g.StepID, "error", err)
		opened = GateOpened{Approvers: sortedUnique(users)}
	}
	g.Approvers = opened.Approvers
	if len(g.Approvers) == 0 && len(g.Groups) == 0 {
		g.Approvers = sortedUnique(users)
	}
	g.Channel, g.MessageTS = opened.Channel, opened.MessageTS
}

func (r *run) updateGateMessage(ctx workflow.Context, g *gateState) {
	r.updateGateMessageAs(ctx, g, g.Gate)
}

// updateGateMessageAs refreshes the request message (best effort).
func (r *run) updateGateMessageAs(ctx workflow.Context, g *gateState, state Gate) {
	r.updateGateMessageRun(ctx, g, state, nil, "approval update: "+g.StepID)
}

// updateGateMessageRun refreshes the request message with the run's state
// after the gate closed (nil while it is open).
func (r *run) updateGateMessageRun(ctx workflow.Context, g *gateState, state Gate, run *GateRunState, summary string) {
	if g.MessageTS == "" {
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: gateActivityTime,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: time.Second},
		Summary:             summary,
	})
	upd := GateUpdate{Request: g.request, Channel: g.Channel, MessageTS: g.MessageTS, Gate: state, Run: run}
	if err := workflow.ExecuteActivity(actx, ActivityUpdateGate, upd).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("updating approval message failed", "step", g.StepID, "error", err)
	}
}

func sortedUnique(in []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// ChangeSummaryFromView is the workflow.GetVersion change id of reading an
// approval request's detection summary from the run's finding view: runs
// whose gates opened before keep legacySummary.
const ChangeSummaryFromView = "approval-summary-from-view"

// detectionSummary is what an approver sees of the detection when a gate
// opens (or escalates): the run's current finding view.
func (r *run) detectionSummary(ctx workflow.Context) DetectionSummary {
	if workflow.GetVersion(ctx, ChangeSummaryFromView, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return legacySummary(r.detect, r.finding)
	}
	return summarize(r.finding)
}

// summarize extracts what an approver sees of the detection from its
// normalized view (internal/finding), the one reader of OCSF fields. The
// IP shown is the source's, else the destination's, else the first found.
// Unknown confidence stays nil (the message then says "unknown", never 0%).
func summarize(view map[string]any) DetectionSummary {
	producer, _ := view["producer"].(map[string]any)
	s := DetectionSummary{
		ID:       str(view["uid"]),
		Title:    str(view["title"]),
		Detector: str(producer["name"]),
		Severity: str(view["severity"]),
		Host:     finding.Primary(view, "hosts"),
		User:     finding.Primary(view, "users"),
		IP: cmp.Or(finding.PrimaryFrom(view, "ips", "src_endpoint.ip"),
			finding.PrimaryFrom(view, "ips", "dst_endpoint.ip"), finding.Primary(view, "ips")),
	}
	if v := str(producer["version"]); v != "" && s.Detector != "" {
		s.Detector += "/" + v
	}
	if id, ok := finding.Number(view["severity_id"]); ok {
		s.SeverityID = int(id)
	}
	if c, ok := finding.Confidence(view); ok {
		s.Confidence = &c
	}
	attack, _ := view["attack"].([]any)
	for _, id := range attack {
		if id, ok := id.(string); ok {
			s.AttackIDs = append(s.AttackIDs, id)
		}
	}
	return s
}
