package slackapp

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/workflows"
)

// Decider records a decision on a workflow's gate (a Temporal Update in
// production). A refusal (outsider, self-approval, duplicate vote, closed
// gate, stale message, missing reason) is an error whose message is shown
// to the user who clicked.
type Decider interface {
	Decide(ctx context.Context, workflowID string, d workflows.Decision) (workflows.DecisionResult, error)
}

// DeciderFunc adapts a function to Decider.
type DeciderFunc func(ctx context.Context, workflowID string, d workflows.Decision) (workflows.DecisionResult, error)

// Decide calls f.
func (f DeciderFunc) Decide(ctx context.Context, workflowID string, d workflows.Decision) (workflows.DecisionResult, error) {
	return f(ctx, workflowID, d)
}

// ErrBusy is returned by Dispatch when no worker slot freed up in time.
var ErrBusy = errors.New("slack: too many interactions in progress")

// ProcessorOptions configures a Processor.
type ProcessorOptions struct {
	// TeamID, AppID and EnterpriseID: interactions from any other
	// workspace, app or organisation are refused (see CheckOrigin).
	TeamID       string
	AppID        string
	EnterpriseID string
	// Decider records decisions. Required.
	Decider Decider
	// Poster posts refusals as ephemeral messages and opens the reason
	// modal. Without it refusals are only logged and "with reason" buttons
	// do nothing.
	Poster *Poster
	// Logger; default discards.
	Logger *slog.Logger
	// Now is the clock (decision times, signature windows). Default time.Now.
	Now func() time.Time
	// DecideTimeout bounds one interaction's work (Decide plus the Slack
	// calls around it). Default 20s.
	DecideTimeout time.Duration
	// MaxConcurrent bounds the interactions handled at once. Default 32.
	MaxConcurrent int
}

// Processor handles interaction payloads, whether they came over HTTP or
// Socket Mode. ProcessInteraction does the work synchronously; Dispatch runs
// it in the background, bounded, after the transport has acknowledged the
// payload to Slack.
type Processor struct {
	origin  ProcessorOptions
	decider Decider
	poster  *Poster
	logger  *slog.Logger
	now     func() time.Time
	timeout time.Duration
	slots   chan struct{}
	wg      sync.WaitGroup
	base    context.Context
	cancel  context.CancelFunc
	// closing: Close was called; no new interaction is dispatched.
	closing atomic.Bool
}

// NewProcessor returns a Processor.
func NewProcessor(opts ProcessorOptions) (*Processor, error) {
	if opts.Decider == nil {
		return nil, errors.New("slackapp: ProcessorOptions.Decider is required")
	}
	p := &Processor{
		origin:  ProcessorOptions{TeamID: opts.TeamID, AppID: opts.AppID, EnterpriseID: opts.EnterpriseID},
		decider: opts.Decider,
		poster:  opts.Poster,
		logger:  opts.Logger,
		now:     opts.Now,
		timeout: opts.DecideTimeout,
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.timeout <= 0 {
		p.timeout = 20 * time.Second
	}
	n := opts.MaxConcurrent
	if n <= 0 {
		n = 32
	}
	p.slots = make(chan struct{}, n)
	p.base, p.cancel = context.WithCancel(context.Background())
	return p, nil
}

// Relevant reports whether the payload is one Riposte handles: a click on
// one of its buttons or a submission of its reason modal.
func Relevant(payload slack.InteractionCallback) bool {
	switch payload.Type {
	case slack.InteractionTypeBlockActions:
		for _, a := range payload.ActionCallback.BlockActions {
			if a != nil && isOurAction(a.ActionID) {
				return true
			}
		}
	case slack.InteractionTypeViewSubmission:
		return payload.View.CallbackID == ReasonModalCallbackID
	}
	return false
}

func isOurAction(id string) bool {
	switch id {
	case ActionApprove, ActionDeny, ActionApproveReason, ActionDenyReason:
		return true
	}
	return false
}

// SubmissionErrors checks a reason-modal submission before it is
// acknowledged. A non-empty result (block id → message) must be sent back
// as the acknowledgement ({"response_action":"errors",...}) so the modal
// stays open; nothing else is done with the submission then.
func SubmissionErrors(payload slack.InteractionCallback) map[string]string {
	if payload.Type != slack.InteractionTypeViewSubmission || payload.View.CallbackID != ReasonModalCallbackID {
		return nil
	}
	if _, err := ParseGateRef(payload.View.PrivateMetadata); err != nil {
		return map[string]string{ReasonBlockID: "This form is no longer valid; close it and click the button on the approval message again."}
	}
	if strings.TrimSpace(submittedReason(payload)) == "" {
		return map[string]string{ReasonBlockID: "Please give a reason."}
	}
	return nil
}

func submittedReason(payload slack.InteractionCallback) string {
	if payload.View.State == nil {
		return ""
	}
	return payload.View.State.Values[ReasonBlockID][ReasonActionID].Value
}

// Dispatch runs ProcessInteraction in the background once a slot is free.
// It waits for a slot until ctx is done and then returns ErrBusy. The work
// itself is bounded by DecideTimeout, not by ctx.
func (p *Processor) Dispatch(ctx context.Context, payload slack.InteractionCallback) error {
	if p.closing.Load() || p.base.Err() != nil {
		return ErrBusy
	}
	select {
	case p.slots <- struct{}{}: // a free slot wins over a done ctx
	default:
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return ErrBusy
		case <-p.base.Done():
			return ErrBusy
		}
	}
	p.wg.Add(1)
	go func() {
		defer func() {
			<-p.slots
			p.wg.Done()
		}()
		defer func() {
			if v := recover(); v != nil {
				p.logger.Error("slack interaction panicked", "panic", v)
			}
		}()
		if err := p.ProcessInteraction(p.base, payload); err != nil {
			p.logger.Info("slack interaction not applied", "type", payload.Type, "user", payload.User.ID, "err", err)
		}
	}()
	return nil
}

// tellBusy tells the person who clicked that the click was dropped because
// every slot was busy (Socket Mode: the click was already acknowledged).
func (p *Processor) tellBusy(payload slack.InteractionCallback) {
	channel := payload.Container.ChannelID
	if channel == "" {
		channel = payload.Channel.ID
	}
	ctx, cancel := context.WithTimeout(p.base, 5*time.Second)
	defer cancel()
	p.tell(ctx, channel, payload.User.ID, "Riposte is busy with other decisions and did not record this click; click again in a moment.")
}

// Wait blocks until every dispatched interaction has finished.
func (p *Processor) Wait() { p.wg.Wait() }

// CloseGrace is how long Close lets the interactions in flight finish
// before it cancels them. They were acknowledged to Slack before they
// were decided (Slack wants the ack within 3 s), so Slack never sends
// them again: cancelling one at a shutdown (SIGTERM) would drop a
// decision its approver saw go through. It matches the HTTP API's drain
// of its requests in flight (serve: RIPOSTE_SHUTDOWN_DELAY, then up to
// 10 s).
const CloseGrace = 10 * time.Second

// Close refuses new interactions, lets the running ones finish for up to
// CloseGrace, then cancels what is left and waits.
func (p *Processor) Close() { p.CloseWithin(CloseGrace) }

// CloseWithin is Close with another grace (0: cancel at once).
func (p *Processor) CloseWithin(grace time.Duration) {
	p.closing.Store(true)
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	if grace > 0 {
		t := time.NewTimer(grace)
		select {
		case <-done:
		case <-t.C:
			p.logger.Warn("slack interactions still in flight at shutdown are cancelled", "grace", grace.String())
		}
		t.Stop()
	}
	p.cancel()
	<-done
}

// ProcessInteraction handles one payload synchronously: a click on Approve
// or Deny becomes a Decision for the Decider; a "with reason" click opens
// the reason modal; a submission of that modal becomes a Decision with the
// reason. When the Decider refuses, the user gets an ephemeral message
// saying why, and the refusal is returned. Payloads that are not Riposte's
// are ignored. On success nothing is posted: the workflow updates the
// request message itself.
func (p *Processor) ProcessInteraction(ctx context.Context, payload slack.InteractionCallback) error {
	if err := p.CheckOrigin(payload); err != nil {
		p.logger.Warn("audit: slack interaction refused", "user", payload.User.ID, "team", payload.Team.ID,
			"app", payload.APIAppID, "enterprise", payload.Enterprise.ID, "refusal", err.Error())
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	switch payload.Type {
	case slack.InteractionTypeBlockActions:
		var errs []error
		for _, a := range payload.ActionCallback.BlockActions {
			if a == nil || !isOurAction(a.ActionID) {
				continue
			}
			errs = append(errs, p.blockAction(ctx, payload, a))
		}
		return errors.Join(errs...)
	case slack.InteractionTypeViewSubmission:
		if payload.View.CallbackID != ReasonModalCallbackID {
			return nil
		}
		return p.submission(ctx, payload)
	}
	return nil
}

func (p *Processor) blockAction(ctx context.Context, payload slack.InteractionCallback, a *slack.BlockAction) error {
	user := payload.User.ID
	channel := payload.Container.ChannelID
	if channel == "" {
		channel = payload.Channel.ID
	}
	ref, err := ParseGateRef(a.Value)
	if err != nil {
		p.tell(ctx, channel, user, "Riposte could not read this button. Use the latest approval message, or decide through the CLI.")
		return fmt.Errorf("button %s: %w", a.ActionID, err)
	}
	ts := payload.Container.MessageTs
	if ts == "" {
		ts = ref.MessageTS
	}
	switch a.ActionID {
	case ActionApprove, ActionDeny:
		return p.decide(ctx, ref.WorkflowID, workflows.Decision{
			GateID:      ref.GateID,
			Approve:     a.ActionID == ActionApprove,
			User:        user,
			Via:         workflows.ViaSlack,
			MessageTS:   ts,
			RunID:       ref.RunID, // the message's run: refused if it ended
			At:          p.now().UTC(),
			Credential:  slackCredential(payload),
			Interaction: interactionID(payload, a.ActionID+"@"+a.ActionTs),
		}, channel)
	case ActionApproveReason, ActionDenyReason:
		if p.poster == nil {
			return errors.New("reason modal: Slack is not configured (no Poster)")
		}
		mref := GateRef{WorkflowID: ref.WorkflowID, GateID: ref.GateID, MessageTS: ts, RunID: ref.RunID, Channel: channel, Approve: a.ActionID == ActionApproveReason}
		// An account that may not decide is refused at the button, as a
		// plain click is: no form to fill in only to be refused on submit.
		if err := p.checkAccount(ctx, ref.WorkflowID, ref.GateID, mref.Approve, user, channel); err != nil {
			return err
		}
		if err := p.poster.OpenReasonModal(ctx, payload.TriggerID, mref); err != nil {
			p.tell(ctx, channel, user, "Riposte could not open the reason form: "+userMessage(err))
			return err
		}
	}
	return nil
}

func (p *Processor) submission(ctx context.Context, payload slack.InteractionCallback) error {
	ref, err := ParseGateRef(payload.View.PrivateMetadata)
	if err != nil {
		return fmt.Errorf("reason modal: %w", err)
	}
	reason := strings.TrimSpace(submittedReason(payload))
	if reason == "" {
		return errors.New("reason modal: empty reason")
	}
	return p.decide(ctx, ref.WorkflowID, workflows.Decision{
		GateID:      ref.GateID,
		Approve:     ref.Approve,
		User:        payload.User.ID,
		Reason:      truncate(reason, MaxReason),
		Via:         workflows.ViaSlack,
		MessageTS:   ref.MessageTS,
		RunID:       ref.RunID,
		At:          p.now().UTC(),
		Credential:  slackCredential(payload),
		Interaction: interactionID(payload, "submit@"+payload.View.ID+"@"+payload.View.Hash),
	}, ref.Channel)
}

func (p *Processor) decide(ctx context.Context, workflowID string, d workflows.Decision, channel string) error {
	what := "denial"
	if d.Approve {
		what = "approval"
	}
	if err := p.checkAccount(ctx, workflowID, d.GateID, d.Approve, d.User, channel); err != nil {
		return err
	}
	res, err := p.decider.Decide(ctx, workflowID, d)
	if errors.Is(err, approvals.ErrQueued) {
		// Not a refusal: delivered as a signal, checked when a worker runs.
		p.tell(ctx, channel, d.User, fmt.Sprintf("No Riposte worker answered in time, so your %s was queued. "+
			"It will be checked against the gate's rules when a worker runs; the message updates then.", what))
		p.logger.Info("slack decision queued as a signal", "workflow_id", workflowID, "gate", d.GateID, "user", d.User)
		return nil
	}
	if err != nil {
		p.tell(ctx, channel, d.User, fmt.Sprintf("Your %s was not recorded: %s", what, userMessage(err)))
		return err
	}
	p.logger.Info("slack decision recorded", "workflow_id", workflowID, "gate", d.GateID, "user", d.User,
		"approve", d.Approve, "state", res.State, "approvals", res.Approvals, "quorum", res.Quorum)
	return nil
}

// checkAccount refuses, audited and explained to user in an ephemeral
// message, a click or a reason form by an account that may not decide: a
// guest, a bot, a deactivated or foreign account (a deny closes the gate
// as surely as quorum opens it). Without a Poster nothing is checked.
func (p *Processor) checkAccount(ctx context.Context, workflowID, gateID string, approve bool, user, channel string) error {
	if p.poster == nil {
		return nil
	}
	err := p.poster.CheckDecider(ctx, user)
	if err == nil {
		return nil
	}
	what := "denial"
	if approve {
		what = "approval"
	}
	p.logger.Warn("audit: slack interaction refused", "user", user, "workflow_id", workflowID, "gate", gateID,
		"approve", approve, "refusal", err.Error())
	p.tell(ctx, channel, user, fmt.Sprintf("Your %s was not recorded: %s", what, userMessage(err)))
	return err
}

// tell posts an ephemeral message, using a fresh short context when ctx
// has run out (a timed-out Decide still deserves an explanation).
func (p *Processor) tell(ctx context.Context, channel, user, text string) {
	if p.poster == nil || channel == "" || user == "" {
		p.logger.Info("slack refusal not shown to the user", "user", user, "text", text)
		return
	}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
	}
	if err := p.poster.Ephemeral(ctx, channel, user, text); err != nil {
		p.logger.Warn("slack ephemeral message failed", "channel", channel, "user", user, "err", err)
	}
}

// userMessage is the part of an error meant for a person.
func userMessage(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "Riposte did not get an answer in time. Your decision may or may not have been recorded: check the message, or try again."
	}
	if errors.Is(err, context.Canceled) {
		return "Riposte is shutting down; try again in a moment."
	}
	if errors.Is(err, approvals.ErrNotFound) {
		return "this run no longer exists."
	}
	if errors.Is(err, ErrAccountRefused) {
		return strings.TrimPrefix(err.Error(), ErrAccountRefused.Error()+": ")
	}
	if errors.Is(err, approvals.ErrRefused) {
		return strings.TrimPrefix(err.Error(), approvals.ErrRefused.Error()+": ")
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Message() != "" {
		return app.Message()
	}
	return err.Error()
}

// ErrForeignOrigin wraps interactions from another workspace, app or
// Enterprise Grid organisation.
var ErrForeignOrigin = errors.New("slack: interaction from another workspace or app")

// CheckOrigin refuses an interaction unless its team.id and api_app_id are
// the configured ones (and its organisation, enterprise.id or else
// team.enterprise_id, when one is configured), and the
// person who clicked belongs to that workspace: user.team_id is the
// configured team, or (Enterprise Grid, where Slack reports the
// organisation's E… id there) the configured enterprise or, when none is
// configured, the payload's own. team.id alone is not enough: in a Slack
// Connect channel it is the workspace the app is installed in even when
// the click comes from a member of another organisation. A processor
// configured with neither team nor app refuses everything: a signing
// secret alone does not say which workspace a click came from.
func (p *Processor) CheckOrigin(payload slack.InteractionCallback) error {
	o := p.origin
	team := payload.Team.ID
	switch {
	case o.TeamID == "" || o.AppID == "":
		return fmt.Errorf("%w: %s and %s are not configured", ErrForeignOrigin, EnvTeamID, EnvAppID)
	case team != o.TeamID:
		return fmt.Errorf("%w: team.id %q is not %s", ErrForeignOrigin, clipID(team), o.TeamID)
	case payload.APIAppID != o.AppID:
		return fmt.Errorf("%w: api_app_id %q is not %s", ErrForeignOrigin, clipID(payload.APIAppID), o.AppID)
	case o.EnterpriseID != "" && payloadEnterprise(payload) != o.EnterpriseID:
		return fmt.Errorf("%w: enterprise.id %q is not %s", ErrForeignOrigin, clipID(payloadEnterprise(payload)), o.EnterpriseID)
	case o.EnterpriseID != "" && payload.Team.EnterpriseID != "" && payload.Team.EnterpriseID != o.EnterpriseID:
		return fmt.Errorf("%w: team.enterprise_id %q is not %s", ErrForeignOrigin, clipID(payload.Team.EnterpriseID), o.EnterpriseID)
	case !p.ownUserTeam(payload):
		return fmt.Errorf("%w: user.team_id %q of %s is not %s (a member of another workspace or organisation, as in a Slack Connect channel)",
			ErrForeignOrigin, clipID(payload.User.TeamID), clipID(payload.User.ID), o.TeamID)
	}
	return nil
}

// ownUserTeam reports whether the clicking user's user.team_id is the
// configured workspace or its Enterprise Grid organisation.
func (p *Processor) ownUserTeam(payload slack.InteractionCallback) bool {
	ut := payload.User.TeamID
	switch {
	case ut == "":
		return false
	case ut == p.origin.TeamID:
		return true
	case p.origin.EnterpriseID != "":
		return ut == p.origin.EnterpriseID
	}
	// No organisation configured: the one the payload says our workspace
	// belongs to (team.id was checked above).
	ent := payloadEnterprise(payload)
	return ent != "" && ut == ent
}

// payloadEnterprise is the Enterprise Grid organisation an interaction
// names: enterprise.id, or, where Slack leaves "enterprise" null or out
// (a view submission among others), team.enterprise_id, as Slack's own
// frameworks read it (bolt-js App.buildSource).
func payloadEnterprise(payload slack.InteractionCallback) string {
	return cmp.Or(payload.Enterprise.ID, payload.Team.EnterpriseID)
}

// interactionID identifies one Slack interaction for
// workflows.Decision.Interaction: the team and the clicking user (both
// from the payload Slack signed, as the vote's identity), the payload's
// trigger_id (a new one for each click and each form submission) and
// action (the button's action_id and action_ts; the reason form's view id
// and hash). A Socket Mode envelope Slack sends again carries the same
// payload, so the same id, whichever replica receives it; a second click
// is a new interaction. Without a trigger_id it is "" (each delivery its
// own), except for a reason form, whose view id and hash name the
// submission. It is a SHA-256 of them: an Update id is stored in the
// run's history as it is, outside the encrypted payloads, where the
// user's id and a trigger_id do not belong.
func interactionID(payload slack.InteractionCallback, action string) string {
	submission := payload.Type == slack.InteractionTypeViewSubmission && payload.View.ID != ""
	if payload.User.ID == "" || (payload.TriggerID == "" && !submission) {
		return ""
	}
	return slackInteractionID(payload.Team.ID + ":" + payload.User.ID + ":" + payload.TriggerID + ":" + action)
}

// slackInteractionID is the Update id of an interaction named by parts.
func slackInteractionID(parts string) string {
	sum := sha256.Sum256([]byte(parts))
	return "slack:" + hex.EncodeToString(sum[:])
}

// slackCredential is what authenticated a click, for the decision's
// record: Slack's signature for the workspace (or Enterprise Grid
// organisation) the clicker belongs to, which CheckOrigin accepted.
func slackCredential(payload slack.InteractionCallback) string {
	return "slack:" + cmp.Or(payload.User.TeamID, payload.Team.ID)
}

func clipID(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
