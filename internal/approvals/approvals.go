// Package approvals delivers decisions on approval gates to runs (a Temporal
// Update, whose validator refuses bad votes before anything is recorded; or
// a signal, while no worker is up or when the caller asked not to wait) and
// lists the gates waiting for people.
package approvals

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/endedruns"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// Errors callers map to responses.
var (
	// ErrRefused wraps a decision the gate's rules refused.
	ErrRefused = errors.New("decision refused")
	// ErrNotFound means no such run.
	ErrNotFound = errors.New("run not found")
	// ErrQueued means no worker answered in time; the decision was sent as
	// a signal and will be checked by the same rules when a worker runs.
	ErrQueued = errors.New("decision queued")
)

// Service delivers decisions through Temporal.
type Service struct {
	Client    client.Client
	Namespace string
	// UpdateTimeout bounds the wait for a worker to accept the Update before
	// falling back to a signal (default 10s).
	UpdateTimeout time.Duration
	// Keys seal each decision (the caller authenticated d.User and set
	// d.Via); the workflow refuses decisions without a valid seal.
	Keys *signing.Keys
	// SealsCredential reports whether every worker verifies seals that
	// cover d.Credential (engine.WorkersByReference.SealsCredential); nil
	// or false: the credential is left out of the decision, since a
	// worker of an earlier release would refuse its seal as forged.
	SealsCredential func(ctx context.Context) bool
	// SealsRun reports whether every worker verifies seals that cover the
	// run a decision is for (engine.WorkersByReference.SealsRun); then
	// each decision is sealed for, and delivered to, the run that is
	// running under the workflow id (one describe call), so a copy of it
	// does not count in a later run of that id. Nil or false: sealed
	// without it, since a worker of an earlier release would refuse it.
	SealsRun func(ctx context.Context) bool
	// DataConverter decodes the approval requests of a reset's run (the
	// client's, with the payload codec), to tell whether it carries on
	// the gate a decision was given on; nil: Temporal's default.
	DataConverter converter.DataConverter
}

// Decide delivers one decision to a run. It returns the gate's state after
// the vote, ErrRefused (wrapped, with the rule's message) when the gate's
// rules refuse it, or ErrQueued when it was sent as a signal instead.
func (s *Service) Decide(ctx context.Context, workflowID string, d workflows.Decision) (workflows.DecisionResult, error) {
	var res workflows.DecisionResult
	decidedFor := d.RunID // the run the person decided on, when known (seal clears it)
	d, run, err := s.seal(ctx, workflowID, d)
	if err != nil {
		if d.Interaction != "" && errors.Is(err, ErrRefused) {
			if res, ok, err := s.endedOutcome(ctx, workflowID, decidedFor, d); ok {
				return res, err
			}
		}
		return res, err
	}
	uctx, cancel := context.WithTimeout(ctx, s.updateTimeout())
	defer cancel()
	h, err := s.Client.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		// The same act delivered again (d.Interaction) is the same
		// Update: Temporal gives it the first delivery's outcome, on
		// whichever replica it arrives, instead of a second vote
		// refused as "already voted".
		UpdateID:     d.Interaction,
		WorkflowID:   workflowID,
		RunID:        run,
		UpdateName:   workflows.UpdateDecide,
		Args:         []any{d},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(uctx, &res)
	}
	if err == nil {
		return res, nil
	}
	var nf *serviceerror.NotFound
	var ae *temporal.ApplicationError
	var toe *client.WorkflowUpdateServiceTimeoutOrCanceledError
	switch {
	case errors.As(err, &nf):
		return res, s.notRunning(ctx, workflowID)
	case errors.As(err, &ae):
		return res, fmt.Errorf("%w: %s", ErrRefused, ae.Message())
	case (uctx.Err() != nil || errors.As(err, &toe)) && ctx.Err() == nil:
		// No worker took the Update in time: keep the decision as a signal.
		// The SDK's own rpc deadline may fire (or the server reset the
		// call) a moment before uctx's timer: the same case.
		if serr := s.signal(ctx, workflowID, run, d); serr != nil {
			return res, serr
		}
		return res, ErrQueued
	}
	var fpe *serviceerror.FailedPrecondition
	if errors.As(err, &fpe) {
		return res, fmt.Errorf("%w: %s", ErrRefused, fpe.Message)
	}
	return res, fmt.Errorf("delivering decision to %s: %w", workflowID, err)
}

func (s *Service) updateTimeout() time.Duration {
	if s.UpdateTimeout <= 0 {
		return 10 * time.Second
	}
	return s.UpdateTimeout
}

// endedOutcome answers a decision naming an interaction (d.Interaction)
// that reaches the run after it ended, which seal refuses: the same act
// delivered again (Slack resending a click to another replica) after the
// vote its first delivery recorded let the run go on and end. Temporal
// keeps the outcome of a run's completed Updates after the run ends and
// answers an Update of the same id to the ended run with it, running
// nothing (server: service/history/api/updateworkflow, "If the WF is not
// running anymore, use an existing Update, if it exists for the requested
// ID"). ok is false when the run (runID, else the latest) still runs,
// or Temporal knows no such Update on it (a new click on an ended run's
// gate: seal's refusal stands). A click on a message that a reset's run
// carried on went to that run (seal), not to the run its buttons name:
// when the latest run is another, that ended, it is asked too (an Update
// of this id exists only on a run it was delivered to).
func (s *Service) endedOutcome(ctx context.Context, workflowID, runID string, d workflows.Decision) (workflows.DecisionResult, bool, error) {
	res, ok, err := s.endedOutcomeOf(ctx, workflowID, runID, d)
	if ok || runID == "" {
		return res, ok, err
	}
	desc, derr := s.Client.DescribeWorkflowExecution(ctx, workflowID, "")
	if latest := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(); derr == nil && latest != "" && latest != runID {
		return s.endedOutcomeOf(ctx, workflowID, latest, d)
	}
	return res, ok, err
}

// endedOutcomeOf is endedOutcome's answer of one run (runID, else the
// latest).
func (s *Service) endedOutcomeOf(ctx context.Context, workflowID, runID string, d workflows.Decision) (workflows.DecisionResult, bool, error) {
	var res workflows.DecisionResult
	// The run the click was on (its message's), else the latest: a
	// finding reopened since has a new run, and the outcome is the old one's.
	desc, err := s.Client.DescribeWorkflowExecution(ctx, workflowID, runID)
	info := desc.GetWorkflowExecutionInfo()
	if err != nil || info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return res, false, nil
	}
	uctx, cancel := context.WithTimeout(ctx, s.updateTimeout())
	defer cancel()
	h, err := s.Client.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		UpdateID:     d.Interaction,
		WorkflowID:   workflowID,
		RunID:        info.GetExecution().GetRunId(),
		UpdateName:   workflows.UpdateDecide,
		Args:         []any{d},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(uctx, &res)
	}
	var ae *temporal.ApplicationError
	switch {
	case err == nil:
		return res, true, nil
	case errors.As(err, &ae):
		return res, true, fmt.Errorf("%w: %s", ErrRefused, ae.Message())
	}
	return res, false, nil
}

// Send delivers one decision without waiting for the run: sealed, as a
// signal, recorded in the run's history when Send returns. The gate's rules
// check it when the run reads it, exactly as they check an Update; a vote
// they refuse changes nothing and is kept on the gate (Gate.Refused) and in
// the worker's audit log. It costs the server one history write instead of
// a workflow task round trip, which is what makes bulk decisions fast.
func (s *Service) Send(ctx context.Context, workflowID string, d workflows.Decision) error {
	d, run, err := s.seal(ctx, workflowID, d)
	if err != nil {
		return err
	}
	return s.signal(ctx, workflowID, run, d)
}

// seal signs a decision for its run and returns the run to deliver it to
// ("" for whichever runs); the caller authenticated d.User (with
// d.Credential, kept only where every worker verifies it). A d.RunID given
// by the caller is the run the person decided on (the API's run_id: the
// run whose gate they looked at): the decision is refused unless that run
// is the one running under workflowID, so a vote given for an ended run's
// gate never counts in the run of a reopened finding that followed it.
func (s *Service) seal(ctx context.Context, workflowID string, d workflows.Decision) (workflows.Decision, string, error) {
	if strings.TrimSpace(d.User) == "" {
		return d, "", fmt.Errorf("%w: a decision needs the deciding user", ErrRefused)
	}
	if s.Keys == nil {
		return d, "", fmt.Errorf("%w: this server holds no decision signing key", ErrRefused)
	}
	if d.Credential != "" && (s.SealsCredential == nil || !s.SealsCredential(ctx)) {
		d.Credential = ""
	}
	want := d.RunID
	d.RunID = ""
	seals := s.SealsRun != nil && s.SealsRun(ctx)
	run := ""
	if seals || want != "" {
		runID, err := RunningRun(ctx, s.Client, workflowID)
		if want != "" && errors.Is(err, ErrRefused) {
			err = fmt.Errorf("%w: run %s of %s, which the decision is for, has ended; its gates are closed", ErrRefused, want, workflowID)
		}
		if err != nil {
			return d, "", err
		}
		if want != "" && runID != want {
			// A Temporal reset (the UI's, `temporal workflow reset`)
			// starts a new run that carries on the gates and Slack
			// messages of the run it was reset from: a click on them
			// decides for the run that carries them on.
			// Only what the run did before the reset point is carried
			// on: reset to before the gate opened (or its message was
			// posted), the new run opens it, and posts its request,
			// anew, possibly for other targets, and the decision given
			// on the old one is not for it.
			point, reset, rerr := resetFrom(ctx, s.Client, workflowID, runID, want)
			carried := false
			if rerr == nil && reset {
				carried, rerr = carriesOn(ctx, s.Client, s.DataConverter, workflowID, runID, point, d)
			}
			if rerr != nil {
				return d, "", fmt.Errorf("delivering decision to %s: %w", workflowID, rerr)
			}
			if reset && !carried {
				what := "its gate on step " + d.GateID + " was opened"
				if d.MessageTS != "" {
					what = "the message clicked was posted"
				}
				return d, "", fmt.Errorf("%w: run %s of %s, which the decision is for, was reset to a point before %s: run %s, the reset's, opens the gate and asks again: look at its gates (riposte approvals) and decide on them", ErrRefused, want, workflowID, what, runID)
			}
			if carried {
				want = runID
			}
		}
		if want != "" && runID != want {
			return d, "", fmt.Errorf("%w: run %s of %s, which the decision is for, has ended; run %s now runs under that workflow id (the finding was reopened, possibly with other targets): look at its gates (riposte approvals) and decide on them", ErrRefused, want, workflowID, runID)
		}
		run = runID
		if seals {
			d.RunID = runID
		}
	}
	d.Seal = s.Keys.Sign(workflows.DecisionClaim(workflowID, d), time.Now())
	return d, run, nil
}

// resetFrom reports whether run runID of workflowID was started by a reset
// of run base, directly or through resets of resets (each run's reset
// record names the run it was reset from: endedruns.ResetRecord), and
// then point: runID's events before it are copies of base's (the
// earliest reset point of the chain; the events keep their ids when a
// reset copies them). A run started otherwise (a reopened finding's,
// continued as new) was not.
func resetFrom(ctx context.Context, c client.Client, workflowID, runID, base string) (int64, bool, error) {
	var point int64
	for range endedruns.MaxResetChain {
		r, err := endedruns.ResetRecord(ctx, c, workflowID, runID)
		if err != nil || r == nil {
			return 0, false, err
		}
		if point == 0 || r.EventID < point {
			point = r.EventID
		}
		if r.BaseRunID == base {
			return point, true, nil
		}
		runID = r.BaseRunID
	}
	return 0, false, nil
}

// carriesOn reports whether run runID of workflowID, whose events before
// point are copies of the run a decision was given for (resetFrom),
// carries on the gate it was given on: that run had opened the gate
// (ActivityOpenGate scheduled with its request) before the point, and,
// for a click on a Slack message (d.MessageTS), had posted that message
// (the activity completed with it) before the point. Reading stops at
// the point, or at the message.
func carriesOn(ctx context.Context, c client.Client, dc converter.DataConverter, workflowID, runID string, point int64, d workflows.Decision) (bool, error) {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	opens := map[int64]bool{} // the gate's ActivityOpenGate events
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return false, fmt.Errorf("reading run %s of %s for the gates it carries on: %w", runID, workflowID, err)
		}
		if e.GetEventId() >= point {
			break
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == workflows.ActivityOpenGate {
			var req workflows.GateRequest
			if err := dc.FromPayloads(a.GetInput(), &req); err != nil {
				return false, fmt.Errorf("reading an approval request of run %s of %s: %w", runID, workflowID, err)
			}
			if req.GateID == d.GateID || (req.GateID == "" && req.StepID == d.GateID) {
				opens[e.GetEventId()] = true
			}
		}
		if a := e.GetActivityTaskCompletedEventAttributes(); a != nil && d.MessageTS != "" && opens[a.GetScheduledEventId()] {
			var opened workflows.GateOpened
			if err := dc.FromPayloads(a.GetResult(), &opened); err != nil {
				return false, fmt.Errorf("reading an approval request of run %s of %s: %w", runID, workflowID, err)
			}
			if opened.MessageTS == d.MessageTS {
				return true, nil
			}
		}
	}
	return d.MessageTS == "" && len(opens) > 0, nil
}

// signal sends a sealed decision, saying whether the run is unknown or has
// ended when the server does not find it running.
func (s *Service) signal(ctx context.Context, workflowID, run string, d workflows.Decision) error {
	var err error
	if d.Interaction != "" {
		err = s.signalOnce(ctx, workflowID, run, d)
	} else {
		err = s.Client.SignalWorkflow(ctx, workflowID, run, workflows.SignalDecide, d)
	}
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf):
		return s.notRunning(ctx, workflowID)
	}
	return fmt.Errorf("delivering decision to %s: %w", workflowID, err)
}

// signalOnce sends a decision naming the act that made it (d.Interaction)
// as the SDK client's SignalWorkflow does, but with a request id derived
// from that act and the run instead of a random one: Temporal records a
// signal whose request id the run has seen once (server:
// service/history/api/signalworkflow, IsSignalRequested), so the same act
// queued by two replicas (Slack resending a click to another one while no
// worker answers) is one signal, not a second vote the gate keeps as a
// refused repeat.
func (s *Service) signalOnce(ctx context.Context, workflowID, run string, d workflows.Decision) error {
	dc := s.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	if ca, ok := dc.(interface {
		WithContext(context.Context) converter.DataConverter
	}); ok {
		dc = ca.WithContext(ctx)
	}
	dc = converter.WithDataConverterSerializationContext(dc, converter.WorkflowSerializationContext{Namespace: s.Namespace, WorkflowID: workflowID})
	input, err := dc.ToPayloads(d)
	if err != nil {
		return fmt.Errorf("delivering decision to %s: encoding it: %w", workflowID, err)
	}
	_, err = s.Client.WorkflowService().SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{
		Namespace:         s.Namespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: run},
		SignalName:        workflows.SignalDecide,
		Input:             input,
		Identity:          clientIdentity(),
		RequestId:         signalRequestID(workflowID, run, d.Interaction),
	})
	return err
}

// signalRequestID is the request id of the signal that queues the decision
// made by interaction (Decision.Interaction) for run run ("" for whichever
// runs) of workflowID: the same for every delivery of that act.
func signalRequestID(workflowID, run, interaction string) string {
	sum := sha256.Sum256([]byte("riposte/decision-signal/v1\x00" + workflowID + "\x00" + run + "\x00" + interaction))
	return "riposte-decision-" + hex.EncodeToString(sum[:])
}

// clientIdentity is the identity the SDK client gives its requests when
// its options name none (Riposte's clients do not): pid@host@.
func clientIdentity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "Unknown"
	}
	return fmt.Sprintf("%d@%s@", os.Getpid(), host)
}

// RunningRun returns the id of the run running under workflowID, or why
// there is none (as notRunning says it): ErrNotFound for no run, ErrRefused
// for one that has ended. Requests sealed for a run (the decisions here,
// the API's extensions) are sent to the run it names.
func RunningRun(ctx context.Context, c client.Client, workflowID string) (string, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return "", fmt.Errorf("%w: no run with workflow id %q", ErrNotFound, workflowID)
	case err != nil:
		return "", fmt.Errorf("delivering decision to %s: %w", workflowID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return "", fmt.Errorf("%w: the run %s has ended; its gates are closed", ErrRefused, workflowID)
	}
	return info.GetExecution().GetRunId(), nil
}

// notRunning tells an ended run from an unknown one: the server answers
// "not found" for both.
func (s *Service) notRunning(ctx context.Context, workflowID string) error {
	if _, err := s.Client.DescribeWorkflowExecution(ctx, workflowID, ""); err == nil {
		return fmt.Errorf("%w: the run %s has ended; its gates are closed", ErrRefused, workflowID)
	}
	return fmt.Errorf("%w: no run with workflow id %q", ErrNotFound, workflowID)
}

// OpenGate is a gate waiting for a decision, with its run.
type OpenGate struct {
	WorkflowID string         `json:"workflow_id"`
	RunID      string         `json:"run_id"`
	Gate       workflows.Gate `json:"gate"`
}

// ListOpen returns the gates of running runs that wait for people.
func (s *Service) ListOpen(ctx context.Context, limit int) ([]OpenGate, error) {
	gates, _, err := s.ListOpenPage(ctx, limit)
	return gates, err
}

// ListOpenPage is ListOpen, and whether more runs wait than limit (the
// list is then not all of them).
func (s *Service) ListOpenPage(ctx context.Context, limit int) ([]OpenGate, bool, error) {
	resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.Namespace,
		PageSize:  int32(limit),
		Query:     workflows.PlaybookRunsQuery + " AND ExecutionStatus = 'Running' AND ApprovalState IN ('pending', 'escalated')",
	})
	if err != nil {
		return nil, false, fmt.Errorf("listing runs waiting for approval: %w", err)
	}
	out := []OpenGate{}
	for _, e := range resp.GetExecutions() {
		wid, rid := e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()
		v, err := s.Client.QueryWorkflow(ctx, wid, rid, workflows.QueryGates)
		if err != nil {
			continue // the run may have just ended
		}
		var gates []workflows.Gate
		if v.Get(&gates) != nil {
			continue
		}
		for _, g := range gates {
			if g.State == workflows.GatePending {
				out = append(out, OpenGate{WorkflowID: wid, RunID: rid, Gate: g})
			}
		}
	}
	return out, len(resp.GetNextPageToken()) > 0, nil
}
