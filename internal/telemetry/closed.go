package telemetry

import (
	"context"
	"log/slog"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riposte-dev/riposte/internal/endedruns"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// Statuses of riposte_runs_finished_total for runs Temporal ended without
// running their workflow code to the end, counted by WatchClosedRuns.
const (
	// StatusTerminated is a run terminated (temporal workflow terminate,
	// a batch terminate, the SDK's TerminateWorkflow).
	StatusTerminated = "terminated"
	// StatusTimedOut is a run whose workflow execution or run timeout
	// passed.
	StatusTimedOut = playbook.StatusTimedOut
)

// ClosedRunsOptions configures Metrics.WatchClosedRuns.
type ClosedRunsOptions struct {
	Client    client.Client
	Namespace string
	// Query selects the playbook runs (workflows.PlaybookRunsQuery).
	Query string
	// PlaybookAttribute is the keyword search attribute holding the
	// playbook name (workflows.SAPlaybookName).
	PlaybookAttribute string
	// Every is how often visibility is asked (0 = 30s).
	Every time.Duration
	// Lag is how late a closed run may reach visibility and still be
	// counted (0 = 5m): each poll looks back that far before the previous
	// poll, and remembers the runs it counted in that window.
	Lag time.Duration
	// Logger receives a warning when a poll fails (nil = slog.Default()).
	Logger *slog.Logger
}

// WatchClosedRuns counts, in riposte_runs_finished_total, the playbook runs
// that Temporal closed without their workflow code returning — terminated
// (status "terminated") or timed out ("timed_out") — which the worker
// interceptor, running inside workflow code, never sees. Until ctx ends it
// asks visibility every o.Every for runs closed so, since it started (a run
// closed before is not counted, as no counter counts before its process
// started). A run is counted once: the close statuses counted here are the
// ones the interceptor cannot count (a run whose code returned closes
// Completed, Failed or Canceled), a run a reset terminated is left to the
// reset's new run, and the runs counted are remembered for as long as a
// poll can see them again. The counts are namespace-wide: every process
// that watches counts the same runs.
func (m *Metrics) WatchClosedRuns(ctx context.Context, o ClosedRunsOptions) {
	if m == nil || o.Client == nil {
		return
	}
	w := newClosedWatcher(m, o)
	go w.run(ctx)
}

type closedWatcher struct {
	m *Metrics
	o ClosedRunsOptions
	// since is when the previous poll started: runs closed from
	// since-Lag on are asked for.
	since time.Time
	// counted holds the runs counted (run id -> close time), pruned as
	// they leave the window.
	counted map[string]time.Time
}

func newClosedWatcher(m *Metrics, o ClosedRunsOptions) *closedWatcher {
	if o.Every <= 0 {
		o.Every = 30 * time.Second
	}
	if o.Lag <= 0 {
		o.Lag = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &closedWatcher{m: m, o: o, since: time.Now(), counted: map[string]time.Time{}}
}

func (w *closedWatcher) run(ctx context.Context) {
	// Runs closed before the watch started belong to no counter here.
	floor := w.since
	t := time.NewTicker(w.o.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.poll(ctx, floor); err != nil && ctx.Err() == nil {
			w.o.Logger.Warn("counting terminated and timed-out runs", "error", err)
		}
	}
}

// poll counts the runs closed terminated or timed out since the previous
// poll (less the lag, and not before floor).
func (w *closedWatcher) poll(ctx context.Context, floor time.Time) error {
	started := time.Now()
	from := w.since.Add(-w.o.Lag)
	if from.Before(floor) {
		from = floor
	}
	q := endedruns.Query(w.o.Query, "", from)
	err := endedruns.Each(ctx, w.o.Client, w.o.Namespace, q, func(e *workflowpb.WorkflowExecutionInfo) error {
		run := e.GetExecution().GetRunId()
		if _, ok := w.counted[run]; ok {
			return nil
		}
		status := StatusTerminated
		if endedruns.TimedOut(e) {
			status = StatusTimedOut
		} else {
			// A reset's new run carries on and is counted when it ends.
			reset, err := w.terminatedByReset(ctx, e.GetExecution().GetWorkflowId(), run)
			if err != nil {
				return err // asked again at the next poll
			}
			if reset {
				w.counted[run] = e.GetCloseTime().AsTime()
				return nil
			}
		}
		var pb string
		if p := e.GetSearchAttributes().GetIndexedFields()[w.o.PlaybookAttribute]; p != nil {
			_ = converter.GetDefaultDataConverter().FromPayload(p, &pb)
		}
		w.counted[run] = e.GetCloseTime().AsTime()
		w.m.RunFinished(pb, status)
		return nil
	})
	if err != nil {
		return err
	}
	w.since = started
	for run, closed := range w.counted {
		if closed.Before(w.since.Add(-w.o.Lag)) {
			delete(w.counted, run)
		}
	}
	return nil
}

// terminatedByReset reports whether a terminated run was terminated by a
// reset, from its close event (endedruns.TerminatedByReset), in bounded time.
func (w *closedWatcher) terminatedByReset(ctx context.Context, id, run string) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return endedruns.TerminatedByReset(cctx, w.o.Client, id, run)
}
