package approvals

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/endedruns"
	"github.com/riposte-dev/riposte/workflows"
)

// How a run ended without its workflow code running to the end, as
// EndedGate.Ended says it.
const (
	EndedTerminated = "terminated"
	EndedTimedOut   = "timed_out"
	// EndedReset: a reset terminated the run from a point before the
	// message was posted; the reset's new run posted its own.
	EndedReset = "reset"
)

// EndedGate is an approval request message of a run Temporal ended
// (terminated, timed out) while the gate still waited: no workflow code ran
// at that end, so nothing closed the message.
type EndedGate struct {
	WorkflowID string
	RunID      string
	// Request is the gate's request as posted (ActivityOpenGate's input).
	Request workflows.GateRequest
	// Gate is the gate as the message last showed it (pending: its
	// approvers, the votes given so far).
	Gate workflows.Gate
	// Channel and MessageTS are the message's.
	Channel   string
	MessageTS string
	// Ended is EndedTerminated, EndedTimedOut or EndedReset; EndedAt when.
	Ended   string
	EndedAt time.Time
	// ResetOfAnother, with Ended EndedTerminated: a reset of another run
	// of the workflow terminated the run (the Temporal UI's Reset of the
	// withdrawn run it continues): no reset was made from this run, so
	// nothing carries its messages or holds on, and the workflow's
	// latest run is the reset's. Its rollback names the run (riposte
	// rollback WORKFLOW_ID --run-id RUN_ID).
	ResetOfAnother bool
	// Run, when set, is a closed gate's message that followed its run
	// (workflows.GateUpdate.Run): the state the run last sent it. Status
	// holding: the message says the step's contain_for hold is released
	// at its time unless extended, but no code of the ended run releases
	// it; the containment stays. Status succeeded or failed: the run's
	// last update of the message was still in flight at its end, so the
	// message may still show the hold. Nil: the gate was still open.
	Run *workflows.GateRunState
	// RolledBack, of a message whose run held (Run), is the rollback of
	// the run started since (riposte rollback), nil when none.
	RolledBack *Rollback
}

// RollbackID is the workflow id of the rollback of the run workflowID
// (internal/api starts it so).
func RollbackID(workflowID string) string { return "rollback:" + workflowID }

// Rollback is a run's rollback as an ended run's message shows it.
type Rollback struct {
	// ID is its workflow id (rollback:WORKFLOW_ID).
	ID string
	// Status is running, completed, or how else it ended (failed,
	// terminated, timed_out, canceled).
	Status string
	// At is when it ended (its start while it runs).
	At time.Time
}

// GateCloser rewrites the message of a gate whose run ended (the Slack
// poster). It must be idempotent: every process that watches, and every
// restart within the look-back, rewrites the same messages with the same
// content.
type GateCloser interface {
	CloseEndedGate(ctx context.Context, g EndedGate) error
}

// EndedRunsOptions configures WatchEndedRuns.
type EndedRunsOptions struct {
	Client    client.Client
	Namespace string
	// DataConverter decodes the run's history (the client's, with the
	// payload codec); nil: Temporal's default.
	DataConverter converter.DataConverter
	// Closer rewrites each message.
	Closer GateCloser
	// Every is how often visibility is asked (0 = 10s).
	Every time.Duration
	// Lookback is how long ago a run may have ended and still have its
	// messages closed by the first poll (0 = 24h): runs ended while no
	// process watched (all replicas down, a restart) are closed then.
	Lookback time.Duration
	// Lag is how late a closed run may reach visibility (0 = 5m): each
	// later poll looks back that far before the previous one.
	Lag time.Duration
	// Logger receives a warning when a poll or a rewrite fails (nil =
	// slog.Default()).
	Logger *slog.Logger
}

// WatchEndedRuns closes, until ctx ends, the approval messages of playbook
// runs that Temporal terminated or timed out while a gate waited: each
// message is rewritten to say the run ended, without buttons (a click that
// was already on its way is refused: the run has ended). The runs are asked
// of visibility (ExecutionStatus Terminated or TimedOut, with an
// ApprovalState: a gate opened) and their messages still showing buttons
// read from the run's history, so every process that watches finds the same
// messages and writes the same content. The message of a closed gate whose
// run held its step's contain_for hold (it said the hold is released at
// its time unless extended) is rewritten too: no code of the ended run
// releases it, so it says the containment was not released and stays in
// place, and how to undo it (EndedGate.Run). Of a run a reset terminated, the
// messages the reset's new run carries on (posted before the reset point)
// are left alone; one it does not (a reset to before the gate: the new run
// posts its own) is closed as replaced. A run terminated by the reset of
// another run (the withdrawn run it continues), which no reset was made
// from, is closed as a terminated run is (EndedGate.ResetOfAnother): the
// reset's run carries none of its messages or holds on.
func WatchEndedRuns(ctx context.Context, o EndedRunsOptions) {
	if o.Client == nil || o.Closer == nil {
		return
	}
	w := newEndedWatcher(o)
	go w.run(ctx)
}

type endedWatcher struct {
	o EndedRunsOptions
	// since is when the previous poll started (zero before the first).
	since time.Time
	// done holds the runs whose messages are closed (run id -> close
	// time), pruned as they leave the window.
	done map[string]time.Time
	// failed holds the runs to ask again (run id -> close time).
	failed map[string]time.Time
	// closedMsgs holds the messages already closed, or given up on, of
	// runs still being retried (run, channel, ts -> close time).
	closedMsgs map[string]time.Time
	// pausedUntil is when Slack, having rate limited an update, may be
	// asked again (its Retry-After): until then no history is read and no
	// message rewritten; the runs wait for a later poll.
	pausedUntil time.Time
}

func newEndedWatcher(o EndedRunsOptions) *endedWatcher {
	if o.Every <= 0 {
		o.Every = 10 * time.Second
	}
	if o.Lookback <= 0 {
		o.Lookback = 24 * time.Hour
	}
	if o.Lag <= 0 {
		o.Lag = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DataConverter == nil {
		o.DataConverter = converter.GetDefaultDataConverter()
	}
	return &endedWatcher{o: o, done: map[string]time.Time{}, closedMsgs: map[string]time.Time{}}
}

func (w *endedWatcher) run(ctx context.Context) {
	t := time.NewTicker(w.o.Every)
	defer t.Stop()
	for {
		if err := w.poll(ctx); err != nil && ctx.Err() == nil {
			w.o.Logger.Warn("closing the approval messages of runs Temporal ended", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll closes the messages of the runs ended since the previous poll (less
// the lag; the look-back at the first). A run whose messages could not all
// be closed is asked again at the next poll, until it leaves the look-back.
func (w *endedWatcher) poll(ctx context.Context) error {
	started := time.Now()
	from := started.Add(-w.o.Lookback)
	if !w.since.IsZero() {
		from = w.since.Add(-w.o.Lag)
	}
	// Any run that opened a gate, not only those still pending: a run
	// upserts its decided ApprovalState in the workflow task that
	// schedules the message's update, so one ended while that update was
	// in flight (or after it failed) says approved or denied while its
	// message still has its buttons. The history tells which.
	from = w.from(from)
	q := endedruns.Query(workflows.PlaybookRunsQuery, "ApprovalState IS NOT NULL", from)
	var firstErr error
	err := endedruns.Each(ctx, w.o.Client, w.o.Namespace, q, func(e *workflowpb.WorkflowExecutionInfo) error {
		run := e.GetExecution().GetRunId()
		if _, ok := w.done[run]; ok {
			return nil
		}
		if time.Now().Before(w.pausedUntil) {
			w.retry(run, e.GetCloseTime().AsTime())
			return nil
		}
		ended := endedAs(endedruns.TimedOut(e))
		if err := w.closeRun(ctx, e.GetExecution().GetWorkflowId(), run, ended, e.GetCloseTime().AsTime(), e.GetStartTime().AsTime(), run, false); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			w.retry(run, e.GetCloseTime().AsTime())
			return nil
		}
		w.done[run] = e.GetCloseTime().AsTime()
		return nil
	})
	if err != nil {
		return err
	}
	if err := w.rollbacks(ctx, from); err != nil && firstErr == nil {
		firstErr = err
	}
	w.since = started
	for run, closed := range w.done {
		if closed.Before(started.Add(-w.o.Lookback)) {
			delete(w.done, run)
		}
	}
	for k, closed := range w.closedMsgs {
		run, _, _ := strings.Cut(k, "\x00")
		if _, retrying := w.failed[run]; !retrying || closed.Before(started.Add(-w.o.Lookback)) {
			delete(w.closedMsgs, k)
		}
	}
	return firstErr
}

// retry keeps a run to ask again: the window reaches back to the oldest.
func (w *endedWatcher) retry(run string, closed time.Time) {
	if w.failed == nil {
		w.failed = map[string]time.Time{}
	}
	w.failed[run] = closed
}

// from widens the window to the oldest run still to retry.
func (w *endedWatcher) from(from time.Time) time.Time {
	floor := time.Now().Add(-w.o.Lookback)
	for run, closed := range w.failed {
		if _, ok := w.done[run]; ok || closed.Before(floor) {
			delete(w.failed, run)
			continue
		}
		if closed.Before(from) {
			from = closed
		}
	}
	return from
}

// closeRun closes every message of the run still to close. One message
// that cannot be closed does not keep the others open: each is tried, those
// closed are not rewritten again when the run is retried, and one whose
// update Slack refused for good (a deleted message: message_not_found,
// cant_update_message; a channel gone) is logged once and not asked again.
// A rate limit stops all updates for as long as Slack asks (Retry-After).
//
// track is the id under which the messages closed are remembered (the
// run's, or the rollback's that asked again); holdingOnly rewrites only the
// messages that say the run holds (after a rollback of the run).
func (w *endedWatcher) closeRun(ctx context.Context, workflowID, runID, ended string, at, runStarted time.Time, track string, holdingOnly bool) error {
	gates, reset, err := EndedRunGates(ctx, w.o.Client, w.o.DataConverter, workflowID, runID)
	if err != nil {
		return err
	}
	if holdingOnly {
		gates = slices.DeleteFunc(gates, func(g EndedGate) bool { return !holdsContainment(g) })
	}
	resetOfAnother := false
	if reset {
		// Temporal terminates the running run whichever run is reset: a
		// reset of another run (the withdrawn run this one continues)
		// carries none of this run's messages or holds on. Only a run a
		// reset was made from has its ResetRunId.
		if reset, err = resetMadeFrom(ctx, w.o.Client, workflowID, runID); err != nil {
			return err
		}
		resetOfAnother = !reset
	}
	if reset {
		// The reset's new run carries on the messages posted before its
		// reset point (its history holds them); one posted after it
		// belongs to no run any more: the new run posts its own.
		if gates, err = notCarriedOn(ctx, w.o.Client, w.o.DataConverter, workflowID, gates); err != nil {
			return err
		}
		ended = EndedReset
	}
	if !reset && slices.ContainsFunc(gates, holdsContainment) {
		// riposte rollback undoes what the message says stays: whether
		// it has is part of what every process writes.
		rb, err := RollbackOf(ctx, w.o.Client, w.o.DataConverter, w.o.Namespace, workflowID, runID, runStarted)
		if err != nil {
			return err
		}
		for i := range gates {
			if holdsContainment(gates[i]) {
				gates[i].RolledBack = rb
			}
		}
	}
	var firstErr error
	for _, g := range gates {
		k := track + "\x00" + g.Channel + "\x00" + g.MessageTS
		if _, ok := w.closedMsgs[k]; ok {
			continue
		}
		g.Ended, g.EndedAt, g.ResetOfAnother = ended, at, resetOfAnother
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := w.o.Closer.CloseEndedGate(cctx, g)
		cancel()
		if err != nil {
			err = fmt.Errorf("closing the approval message of %s (gate %s): %w", workflowID, g.Gate.ID, err)
			var ae *temporal.ApplicationError
			if errors.As(err, &ae) && ae.NonRetryable() {
				// Retrying cannot help: say so once and move on.
				w.o.Logger.Warn("an approval message of a run Temporal ended cannot be closed", "workflow_id", workflowID,
					"channel", g.Channel, "ts", g.MessageTS, "error", err)
				w.closedMsgs[k] = at
				continue
			}
			if firstErr == nil {
				firstErr = err
			}
			if errors.As(err, &ae) && ae.NextRetryDelay() > 0 {
				// Rate limited: wait as long as Slack asks before
				// the next update, of this run or any other.
				w.pausedUntil = time.Now().Add(ae.NextRetryDelay())
				return firstErr
			}
			continue
		}
		w.closedMsgs[k] = at
	}
	return firstErr
}

// resetMadeFrom reports whether a reset was made from run runID of
// workflowID (Describe's ResetRunId), or from a run it was itself reset
// from (endedruns.BaseResetAgain: that reset's run carries on what they
// share): a run a reset terminated that neither holds was terminated by
// the reset of another run. A run no longer found (past retention) is
// taken as reset from, as before.
func resetMadeFrom(ctx context.Context, c client.Client, workflowID, runID string) (bool, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return true, nil
		}
		return false, fmt.Errorf("reading whether run %s of %s was reset: %w", runID, workflowID, err)
	}
	if desc.GetWorkflowExtendedInfo().GetResetRunId() != "" {
		return true, nil
	}
	return endedruns.BaseResetAgain(ctx, c, workflowID, runID)
}

// holdsContainment reports whether g's message says its run holds the
// step's containment, not released.
func holdsContainment(g EndedGate) bool {
	return g.Run != nil && g.Run.Status == workflows.RunHolding && g.Run.Hold != nil && g.Run.Hold.ReleasedAt == nil
}

// MemoRollbackOfRun is the memo field of a rollback run naming the run (its
// run id) it was planned for (internal/api starts it so). Rollbacks
// started before it have none.
const MemoRollbackOfRun = "rollback_of_run"

// RollbackOfRun reads MemoRollbackOfRun of the rollback run info ("" when
// it has none, or it cannot be read).
func RollbackOfRun(dc converter.DataConverter, info *workflowpb.WorkflowExecutionInfo) string {
	p, ok := info.GetMemo().GetFields()[MemoRollbackOfRun]
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	var of string
	if !ok || dc.FromPayload(p, &of) != nil {
		return ""
	}
	return of
}

// OwnRollback is the latest run of rollback:ID planned for run runID of
// workflowID (its MemoRollbackOfRun), started at runStarted or after; nil
// when none. The describe of rollback:ID answers its latest run only,
// which may be planned for another run: the workflow's latest run, rolled
// back after runID was (a run a reset of another run terminated, rolled
// back by run_id). Visibility lists them all.
func OwnRollback(ctx context.Context, c client.Client, dc converter.DataConverter, namespace, workflowID, runID string, runStarted time.Time) (*workflowpb.WorkflowExecutionInfo, error) {
	q := fmt.Sprintf("WorkflowType = '%s' AND WorkflowId = '%s'", workflows.RollbackWorkflow, strings.ReplaceAll(RollbackID(workflowID), "'", ""))
	var own *workflowpb.WorkflowExecutionInfo
	err := endedruns.Each(ctx, c, namespace, q, func(e *workflowpb.WorkflowExecutionInfo) error {
		started := e.GetStartTime().AsTime()
		if e.GetExecution().GetWorkflowId() != RollbackID(workflowID) || RollbackOfRun(dc, e) != runID || started.Before(runStarted) {
			return nil
		}
		if own == nil || started.After(own.GetStartTime().AsTime()) {
			own = e
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the rollbacks of %s for run %s: %w", workflowID, runID, err)
	}
	return own, nil
}

// RollbackOf returns the rollback of run runID of workflowID, which started
// at runStarted (nil when none: rollback:ID absent, or an earlier run's).
// rollback:ID's latest run planned for another run (its MemoRollbackOfRun,
// such as the latest run's when runID is a run a reset of another run
// terminated) is not runID's: runID's is an earlier run of it, if any
// (OwnRollback).
func RollbackOf(ctx context.Context, c client.Client, dc converter.DataConverter, namespace, workflowID, runID string, runStarted time.Time) (*Rollback, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, RollbackID(workflowID), "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the rollback of %s: %w", workflowID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStartTime().AsTime().Before(runStarted) {
		return nil, nil // an earlier run's (a reopened finding)
	}
	if of := RollbackOfRun(dc, info); of != "" && of != runID {
		// Another run's: this run's may have run before it.
		if info, err = OwnRollback(ctx, c, dc, namespace, workflowID, runID, runStarted); err != nil || info == nil {
			return nil, err
		}
	}
	rb := &Rollback{ID: RollbackID(workflowID), At: info.GetStartTime().AsTime()}
	rb.Status = endedruns.StatusName(info.GetStatus())
	if t := info.GetCloseTime(); t != nil && info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		rb.At = t.AsTime()
	}
	return rb, nil
}

// endedAs is EndedGate.Ended for a run Temporal timed out or terminated.
func endedAs(timedOut bool) string {
	if timedOut {
		return EndedTimedOut
	}
	return EndedTerminated
}

// rollbacks rewrites, after each rollback that ended since from, the
// messages its run (ended by Temporal while it held) left saying the
// containment stays in place.
func (w *endedWatcher) rollbacks(ctx context.Context, from time.Time) error {
	q := fmt.Sprintf("WorkflowType = '%s' AND CloseTime >= '%s'", workflows.RollbackWorkflow, from.UTC().Format(time.RFC3339Nano))
	var firstErr error
	err := endedruns.Each(ctx, w.o.Client, w.o.Namespace, q, func(e *workflowpb.WorkflowExecutionInfo) error {
		rbRun := e.GetExecution().GetRunId()
		target, ok := strings.CutPrefix(e.GetExecution().GetWorkflowId(), RollbackID(""))
		if _, done := w.done[rbRun]; done || !ok {
			return nil
		}
		if time.Now().Before(w.pausedUntil) {
			w.retry(rbRun, e.GetCloseTime().AsTime())
			return nil
		}
		// The run it was planned for: the latest run when it began, or
		// the run it names (a run a reset of another run terminated).
		desc, err := w.o.Client.DescribeWorkflowExecution(ctx, target, RollbackOfRun(w.o.DataConverter, e))
		if err != nil {
			var nf *serviceerror.NotFound
			if !errors.As(err, &nf) {
				if firstErr == nil {
					firstErr = fmt.Errorf("reading the run %s rolled back: %w", target, err)
				}
				w.retry(rbRun, e.GetCloseTime().AsTime())
				return nil
			}
			w.done[rbRun] = e.GetCloseTime().AsTime()
			return nil
		}
		info := desc.GetWorkflowExecutionInfo()
		st := info.GetStatus()
		if (st != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED && st != enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT) ||
			info.GetStartTime().AsTime().After(e.GetStartTime().AsTime()) {
			// A run that ran its own end (it records the rollback and
			// updates its messages), or not the run rolled back.
			w.done[rbRun] = e.GetCloseTime().AsTime()
			return nil
		}
		ended := endedAs(st == enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT)
		if err := w.closeRun(ctx, target, info.GetExecution().GetRunId(), ended, info.GetCloseTime().AsTime(), info.GetStartTime().AsTime(), rbRun, true); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			w.retry(rbRun, e.GetCloseTime().AsTime())
			return nil
		}
		w.done[rbRun] = e.GetCloseTime().AsTime()
		return nil
	})
	if err != nil {
		return err
	}
	return firstErr
}

// notCarriedOn keeps the gates whose message the workflow's current run
// (a reset's new run) did not post or take over.
func notCarriedOn(ctx context.Context, c client.Client, dc converter.DataConverter, workflowID string, gates []EndedGate) ([]EndedGate, error) {
	if len(gates) == 0 {
		return nil, nil
	}
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	opens := map[int64]bool{}
	carried := map[string]bool{}
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("reading the history of %s: %w", workflowID, err)
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == workflows.ActivityOpenGate {
			opens[e.GetEventId()] = true
		}
		if a := e.GetActivityTaskCompletedEventAttributes(); a != nil && opens[a.GetScheduledEventId()] {
			var opened workflows.GateOpened
			if err := dc.FromPayloads(a.GetResult(), &opened); err != nil {
				return nil, fmt.Errorf("reading an approval request of %s: %w", workflowID, err)
			}
			carried[opened.Channel+"\x00"+opened.MessageTS] = true
		}
	}
	var out []EndedGate
	for _, g := range gates {
		if !carried[g.Channel+"\x00"+g.MessageTS] {
			out = append(out, g)
		}
	}
	return out, nil
}

// EndedRunGates reads a closed run's history for the approval messages it
// posted whose gate was still open when the run ended (the last state an
// update that completed gave the message was pending: an update still in
// flight at the end never reached it), those of closed gates that say the
// run holds their step's containment (EndedGate.Run), and whether a reset
// terminated it.
func EndedRunGates(ctx context.Context, c client.Client, dc converter.DataConverter, workflowID, runID string) ([]EndedGate, bool, error) {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	type message struct {
		req         workflows.GateRequest
		gate        workflows.Gate
		channel, ts string
		// sentRun is the run's state the last update that carried one
		// sent (sentGate its gate), sentDone whether it completed;
		// shownHolding whether the last such update that completed
		// showed the run holding.
		sentRun      *workflows.GateRunState
		sentGate     workflows.Gate
		sentID       int64
		sentDone     bool
		shownHolding bool
	}
	opens := map[int64]workflows.GateRequest{}
	updates := map[int64]workflows.GateUpdate{}
	var order []string
	msgs := map[string]*message{}
	key := func(channel, ts string) string { return channel + "\x00" + ts }
	reset := false
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, false, fmt.Errorf("reading the history of %s: %w", workflowID, err)
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			switch a.GetActivityType().GetName() {
			case workflows.ActivityOpenGate:
				var req workflows.GateRequest
				if err := dc.FromPayloads(a.GetInput(), &req); err != nil {
					return nil, false, fmt.Errorf("reading an approval request of %s: %w", workflowID, err)
				}
				opens[e.GetEventId()] = req
			case workflows.ActivityUpdateGate:
				// The state the run sent the message, applied once the
				// update completed: one still in flight (or failed) when
				// the run ended did not reach the message, which still
				// shows its buttons.
				var upd workflows.GateUpdate
				if err := dc.FromPayloads(a.GetInput(), &upd); err != nil {
					return nil, false, fmt.Errorf("reading an approval update of %s: %w", workflowID, err)
				}
				updates[e.GetEventId()] = upd
				if m := msgs[key(upd.Channel, upd.MessageTS)]; m != nil && upd.Run != nil {
					m.sentRun, m.sentGate, m.sentID, m.sentDone = upd.Run, upd.Gate, e.GetEventId(), false
				}
			}
		}
		if a := e.GetActivityTaskCompletedEventAttributes(); a != nil {
			if upd, ok := updates[a.GetScheduledEventId()]; ok {
				if m := msgs[key(upd.Channel, upd.MessageTS)]; m != nil {
					m.gate = upd.Gate
					if upd.Run != nil {
						m.shownHolding = upd.Run.Status == workflows.RunHolding
						m.sentDone = m.sentDone || a.GetScheduledEventId() == m.sentID
					}
				}
				continue
			}
			req, ok := opens[a.GetScheduledEventId()]
			if !ok {
				continue
			}
			var opened workflows.GateOpened
			if err := dc.FromPayloads(a.GetResult(), &opened); err != nil {
				return nil, false, fmt.Errorf("reading an approval request of %s: %w", workflowID, err)
			}
			if opened.Channel == "" || opened.MessageTS == "" {
				continue // never posted
			}
			k := key(opened.Channel, opened.MessageTS)
			if msgs[k] == nil {
				order = append(order, k)
			}
			msgs[k] = &message{req: req, channel: opened.Channel, ts: opened.MessageTS, gate: workflows.Gate{
				ID: req.GateID, StepID: req.StepID, State: workflows.GatePending, Why: req.Why,
				Approvers: opened.Approvers, Groups: req.Groups, Quorum: req.Quorum,
				ExpiresAt: req.ExpiresAt, Escalated: req.Escalation, Channel: opened.Channel,
				MessageTS: opened.MessageTS, Params: req.Params, Action: req.Action,
			}}
		}
		if a := e.GetWorkflowExecutionTerminatedEventAttributes(); a != nil && a.GetIdentity() == endedruns.ResetterIdentity {
			reset = true
		}
	}
	var out []EndedGate
	for _, k := range order {
		m := msgs[k]
		if m.gate.State != "" && m.gate.State != workflows.GatePending {
			// A closed gate's message that says the run holds (or
			// was being sent that): no code of the ended run releases
			// the hold or updates the message again.
			if r := m.sentRun; r != nil && (r.Status == workflows.RunHolding || (!m.sentDone && m.shownHolding)) {
				out = append(out, EndedGate{WorkflowID: workflowID, RunID: runID, Request: m.req, Gate: m.sentGate,
					Channel: m.channel, MessageTS: m.ts, Run: r})
			}
			continue
		}
		out = append(out, EndedGate{WorkflowID: workflowID, RunID: runID, Request: m.req, Gate: m.gate,
			Channel: m.channel, MessageTS: m.ts})
	}
	return out, reset, nil
}
