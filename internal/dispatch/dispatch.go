// Package dispatch routes detections to playbooks: every playbook whose
// trigger matches starts one run, with a workflow id derived from the
// detection and the playbook so that a re-sent detection never starts a
// second run.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/mdtext"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

// Starter is the part of the Temporal client the dispatcher needs.
type Starter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// Dispatcher starts runs for detections.
type Dispatcher struct {
	Client Starter
	// Keys seal the finding records delivered to running runs (updates,
	// withdrawals); nil sends them unsealed (runs refuse them).
	Keys      *signing.Keys
	TaskQueue string
	Namespace string
	// UIURL is the Temporal UI base URL used in run links ("" = no links).
	UIURL string
	// Approval holds the site's approval defaults passed to every run.
	Approval workflows.ApprovalDefaults
	// Metrics counts the runs started (nil = none).
	Metrics *telemetry.Metrics
	// Finding configures the normalized view (riposte.yaml detections:);
	// the zero value means finding.DefaultConfig.
	Finding finding.Config
	// Rev is the command-sequence revision (workflows.Input.Rev) every
	// worker of the task queue runs (engine.WorkersByReference.Rev).
	// workflows.RevByReference or later: runs carry a reference to their
	// playbook (name, version, digest) instead of the playbook, since
	// every worker loads playbooks from a store (internal/pbstore), and ask
	// for that revision. nil or less: the playbook travels inline at
	// workflows.CurrentRev, which every worker release understands.
	// Negative (engine.RevUnknown): no worker is known (none polls, or the
	// server cannot be asked): runs go inline (or by reference with
	// ByReference), and a withdrawal that would start a run recording it
	// is not dispatched (an error: 503, resend) rather than dropped as if
	// workers of an older release polled.
	Rev func(ctx context.Context) int
	// ByReference: runs carry a reference to their playbook, at
	// workflows.RevByReference at least, whatever Rev says (serve
	// --playbook-input reference).
	ByReference bool
	// DataConverter decodes the payloads of a run's history (the client's:
	// with the codec's keys); nil is the SDK's default.
	DataConverter converter.DataConverter
	set           atomic.Pointer[playbook.Set]
	// names are the playbooks of every set this dispatcher had: a run of
	// a playbook a reload removed or renamed still gets its finding's
	// later records.
	namesMu sync.Mutex
	names   map[string]bool
}

// Options for one dispatch.
type Options struct {
	// DryRun simulates notify and contain actions and grants approvals.
	DryRun bool
	// Requester is who submitted the detection (may not approve its gates).
	Requester string
}

// Match is one run a detection started (or found already started).
type Match struct {
	Playbook     string `json:"playbook"`
	Version      int    `json:"version"`
	Mode         string `json:"mode"`
	WorkflowID   string `json:"workflow_id"`
	RunID        string `json:"run_id"`
	URL          string `json:"url,omitempty"`
	Deduplicated bool   `json:"deduplicated"`
	// Reopened: the finding's run under this workflow id had ended
	// withdrawn, or was closed after it ended (recordClose), and this
	// record, later than the one that withdrew or closed it,
	// says the finding is active again: a new run started under the same
	// workflow id (see reopen).
	Reopened bool `json:"reopened,omitempty"`
}

// Outcome is what happened to one detection.
type Outcome struct {
	Index        int     `json:"index"`
	DetectionID  string  `json:"detection_id"`
	Matched      []Match `json:"matched"`
	Deduplicated bool    `json:"deduplicated"`
	// Confidence is the view's confidence: 0-100, or null when unknown.
	Confidence any `json:"confidence"`
	// Entities counts what the view found, per kind (hosts, users, ips…).
	Entities map[string]int `json:"entities"`
	// State is the finding's lifecycle state (active, withdrawn,
	// compliance_pass) and Reason why nothing started, when nothing did.
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Signalled lists the runs of this finding that were sent the record
	// (an update or a withdrawal).
	Signalled []string `json:"signalled,omitempty"`
	// Recorded lists the runs a withdrawal started, with no step to run,
	// because no run of the finding had started yet (see recordWithdrawn),
	// or because its run had ended other than withdrawn (a workflow id
	// starting with ClosedPrefix, see recordClose).
	Recorded []Match `json:"recorded,omitempty"`
	// Warnings say what the intake read differently from the letter of OCSF.
	Warnings []intake.FieldError `json:"warnings,omitempty"`
	// Errors lists trigger evaluation problems (the playbook did not match).
	Errors []string `json:"errors,omitempty"`
	// Status is 400 when this detection alone was refused (Problems name
	// the fields) while the rest of its request was processed.
	Status   int                 `json:"status,omitempty"`
	Problems []intake.FieldError `json:"problems,omitempty"`
}

// SetPlaybooks swaps in a new playbook set; runs in flight keep theirs.
func (d *Dispatcher) SetPlaybooks(s *playbook.Set) {
	d.namesMu.Lock()
	if d.names == nil {
		d.names = map[string]bool{}
	}
	if s != nil {
		for _, c := range s.Playbooks {
			d.names[c.Playbook.Name] = true
		}
	}
	d.namesMu.Unlock()
	d.set.Store(s)
}

// knownNames lists, sorted, the playbooks runs may still be running for:
// those of every set SetPlaybooks stored (the current one, and those a
// reload since this process started removed or renamed).
func (d *Dispatcher) knownNames() []string {
	d.namesMu.Lock()
	defer d.namesMu.Unlock()
	return slices.Sorted(maps.Keys(d.names))
}

// runIDs are the workflow ids a finding's runs of playbook name have:
// live and shadow.
func runIDs(name string, det intake.Detection) []string {
	id := WorkflowID(name, det)
	return []string{id, "shadow:" + id}
}

// Playbooks returns the current set.
func (d *Dispatcher) Playbooks() *playbook.Set { return d.set.Load() }

// WorkflowID is the deterministic id of a playbook's run for a detection.
func WorkflowID(pb string, det intake.Detection) string {
	return pb + ":" + det.Key()
}

// Dispatch evaluates every playbook's trigger and starts the matching runs.
// An error means Temporal could not be reached; per-playbook trigger errors
// are reported in the outcome.
func (d *Dispatcher) Dispatch(ctx context.Context, idx int, det intake.Detection, opts Options) (Outcome, error) {
	view, notes := finding.BuildNoting(det, d.Finding)
	state, _ := view["state"].(string)
	out := Outcome{Index: idx, DetectionID: det.UID(), Matched: []Match{}, Confidence: view["confidence"],
		Entities: finding.Counts(view), State: state, Warnings: intake.Warnings(idx, det, notes)}
	set := d.set.Load()
	if set == nil {
		return out, nil
	}
	switch state {
	case finding.StateCompliancePass:
		out.Reason, _ = view["state_reason"].(string)
		out.Reason = "nothing started: " + out.Reason
		return out, nil
	case finding.StateWithdrawn:
		// A withdrawal starts nothing to act; runs already started for
		// this finding are told (see signal), and where none had started
		// one is recorded as withdrawn (see recordWithdrawn).
		r, _ := view["state_reason"].(string)
		out.Reason = "finding withdrawn (" + r + "): nothing started"
		if opts.DryRun {
			return out, nil
		}
		sig, err := d.signal(ctx, det, view, opts.Requester, nil)
		out.Signalled = sig
		if err != nil {
			return out, err
		}
		// A passing compliance result (Security Hub's record of a control
		// that passes is Resolved, its first one too) closes no earlier
		// Create: the control's later failure must start its runs.
		if finding.PassingCompliance(det) {
			return out, nil
		}
		// Workers before RevWithdrawnAtStart would run the playbook on it.
		if rev := d.rev(ctx); rev < workflows.RevWithdrawnAtStart {
			if rev < 0 && recordable(set, det, view, sig) {
				// Unknown is not old: dropping it would let its late
				// Create start the response for a closed finding.
				return out, fmt.Errorf("recording the withdrawal of %q: no worker is known to poll task queue %s (none polls, or Temporal could not be asked), so a run recording it cannot be started safely yet", det.UID(), d.TaskQueue)
			}
			return out, nil
		}
		rec, late, err := d.recordWithdrawn(ctx, set, det, view, opts, sig)
		out.Recorded, out.Signalled = rec, append(out.Signalled, late...)
		switch {
		case slices.ContainsFunc(rec, func(m Match) bool { return !strings.HasPrefix(m.WorkflowID, ClosedPrefix) }):
			out.Reason = "finding withdrawn (" + r + ") before any record of it started a run: recorded as withdrawn, so a later record of it starts nothing"
		case len(rec) > 0:
			out.Reason = "finding withdrawn (" + r + ") after its run ended: recorded as closed, so a later record that reopens it starts the response again"
		}
		return out, err
	}
	env := map[string]any{"detection": map[string]any(det), "finding": view}
	matched := map[string]bool{}
	for _, c := range set.Playbooks {
		ok, err := c.When.EvalBool(env)
		if err != nil {
			out.Errors = append(out.Errors, fmt.Sprintf("playbook %s: trigger: %v", c.Playbook.Name, err))
			continue
		}
		if !ok {
			continue
		}
		m, err := d.start(ctx, c, det, view, opts, false)
		if err != nil {
			return out, err
		}
		matched[c.Playbook.Name] = true
		if m.Deduplicated && m.Mode != playbook.ModeDryRun {
			// A later record of a running finding: the run decides whether
			// it raises severity or confidence (see workflows.SignalFinding).
			if ok, err := d.signalOne(ctx, m.WorkflowID, det, view, opts.Requester); err != nil {
				return out, err
			} else if ok {
				out.Signalled = append(out.Signalled, m.WorkflowID)
			} else if m, err = d.reopen(ctx, c, det, view, opts, m); err != nil {
				return out, err
			}
		}
		out.Matched = append(out.Matched, m)
	}
	if id, ok := finding.Number(det["activity_id"]); ok && id == 2 && !opts.DryRun {
		// An Update (activity_id 2) of a running finding reaches its runs
		// whether or not the playbook's trigger matches it again (it may
		// omit a field the trigger reads). Only Updates: signalling every
		// playbook for every new finding would cost a call each.
		sig, err := d.signal(ctx, det, view, opts.Requester, matched)
		out.Signalled = append(out.Signalled, sig...)
		if err != nil {
			return out, err
		}
	}
	out.Deduplicated = len(out.Matched) > 0
	for _, m := range out.Matched {
		if !m.Deduplicated {
			out.Deduplicated = false
		}
	}
	return out, nil
}

// recordWithdrawn starts, for each playbook whose trigger matches the
// withdrawn record read as active and which has no run for the finding, a
// run with the withdrawn record: it runs no step (workflows
// RevWithdrawnAtStart) and holds the run's workflow id, so a Create
// that arrives after its Close (producers and queues do not keep order)
// is deduplicated instead of containing for a closed finding. A record
// sent after the namespace's retention starts a run again. A run that a
// concurrent request started meanwhile is sent the record (signalled).
func (d *Dispatcher) recordWithdrawn(ctx context.Context, set *playbook.Set, det intake.Detection, view map[string]any, opts Options, signalled []string) ([]Match, []string, error) {
	env := activeEnv(det, view)
	var rec []Match
	var sig []string
	for _, c := range set.Playbooks {
		if ok, err := c.When.EvalBool(env); err != nil || !ok {
			continue
		}
		if slices.ContainsFunc(runIDs(c.Playbook.Name, det), func(id string) bool { return slices.Contains(signalled, id) }) {
			continue // a running run took the withdrawal
		}
		m, err := d.start(ctx, c, det, view, opts, false)
		if err != nil {
			return rec, sig, err
		}
		if !m.Deduplicated {
			rec = append(rec, m)
			continue
		}
		// A run exists: started by a record of a concurrent request after
		// the signals above (told now), or ended (its close is recorded
		// beside it, see recordClose).
		ok, err := d.signalOne(ctx, m.WorkflowID, det, view, opts.Requester)
		if err != nil {
			return rec, sig, err
		}
		if ok {
			sig = append(sig, m.WorkflowID)
			continue
		}
		cm, err := d.recordClose(ctx, c, det, view, opts, m)
		if err != nil {
			return rec, sig, err
		}
		if cm != nil {
			rec = append(rec, *cm)
		}
	}
	return rec, sig, nil
}

// activeEnv is the expression environment of the withdrawn record det read
// as active: the finding it closes, as a trigger saw it.
func activeEnv(det intake.Detection, view map[string]any) map[string]any {
	active := maps.Clone(view)
	active["state"] = finding.StateActive
	delete(active, "state_reason")
	return map[string]any{"detection": map[string]any(det), "finding": active}
}

// recordable reports whether some playbook's trigger matches the withdrawn
// record read as active and no run of it took the record (signalled):
// whether recordWithdrawn could record it.
func recordable(set *playbook.Set, det intake.Detection, view map[string]any, signalled []string) bool {
	env := activeEnv(det, view)
	return slices.ContainsFunc(set.Playbooks, func(c *playbook.Compiled) bool {
		if slices.ContainsFunc(runIDs(c.Playbook.Name, det), func(id string) bool { return slices.Contains(signalled, id) }) {
			return false
		}
		ok, err := c.When.EvalBool(env)
		return err == nil && ok
	})
}

// ClosedPrefix starts the workflow id of the run that records a finding
// withdrawn after its run had ended other than withdrawn (contained,
// denied, failed): "closed:" and the ended run's workflow id.
const ClosedPrefix = "closed:"

// recordClose records the withdrawal det of a finding whose run m ended
// other than withdrawn, so that a later reopening record starts the
// response again (reopen): a run of the playbook with the withdrawn record,
// which runs no step (workflows.RevWithdrawnAtStart), under
// ClosedPrefix+m.WorkflowID. The ended run cannot take it (a closed
// history is final) and a new run under its id would become the id's
// newest, which rollback and the run view follow. Only the latest close
// matters: a copy, or a close not later than the one recorded, records
// nothing (nil). A run that ended withdrawn recorded its close itself.
func (d *Dispatcher) recordClose(ctx context.Context, c *playbook.Compiled, det intake.Detection, view map[string]any, opts Options, m Match) (*Match, error) {
	g, ok := d.Client.(RunGetter)
	at, timed := finding.RecordTime(det)
	if !ok || m.RunID == "" || !timed {
		return nil, nil
	}
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var ended workflows.Result
	if err := g.GetWorkflow(gctx, m.WorkflowID, m.RunID).Get(gctx, &ended); err == nil && ended.Withdrawn != nil {
		return nil, nil
	} else if err != nil && !endedUnsuccessfully(err) {
		// Unread is not "not withdrawn": the caller answers 503.
		return nil, readError(m, err)
	}
	last, ok, err := d.lastClose(gctx, m.WorkflowID)
	if err != nil {
		return nil, readError(m, err)
	}
	if ok && last.recordTime >= at {
		return nil, nil
	}
	// A close not later than a record the run had (the one that started
	// it, or a later one it was sent) is stale: the finding was active
	// after it, and recording it would make the next update of the
	// contained finding start the response again (reopen).
	seen, ok, err := d.lastRecord(gctx, m)
	if err != nil {
		return nil, readError(m, err)
	}
	if ok && at <= seen {
		return nil, nil
	}
	cm, err := d.startRun(ctx, c, det, view, opts, ClosedPrefix+m.WorkflowID, true)
	if err != nil || cm.Deduplicated {
		// Deduplicated: a copy of the record is being recorded now.
		return nil, err
	}
	return &cm, nil
}

// HistoryReader is the optional part of the client that reads a run's
// history: the records of the finding an ended run had (recordClose).
type HistoryReader interface {
	GetWorkflowHistory(ctx context.Context, workflowID, runID string, isLongPoll bool, filterType enumspb.HistoryEventFilterType) client.HistoryEventIterator
}

// dataConverter decodes history payloads: the client's (codec included),
// else the SDK's default.
func (d *Dispatcher) dataConverter() converter.DataConverter {
	if d.DataConverter != nil {
		return d.DataConverter
	}
	return converter.GetDefaultDataConverter()
}

// startInput decodes the run input of a history's start event.
func (d *Dispatcher) startInput(ev *historypb.HistoryEvent) (workflows.Input, bool) {
	var in workflows.Input
	a := ev.GetWorkflowExecutionStartedEventAttributes()
	if a == nil {
		return in, false
	}
	p := a.GetInput().GetPayloads()
	return in, len(p) > 0 && d.dataConverter().FromPayload(p[0], &in) == nil
}

// lastRecord is the latest finding.RecordTime of the records the ended run
// m had: its input's and those of the finding records it was sent.
func (d *Dispatcher) lastRecord(ctx context.Context, m Match) (int64, bool, error) {
	h, ok := d.Client.(HistoryReader)
	if !ok {
		return 0, false, nil
	}
	var last int64
	seen := false
	note := func(det map[string]any) {
		if t, ok := finding.RecordTime(det); ok && (!seen || t > last) {
			last, seen = t, true
		}
	}
	it := h.GetWorkflowHistory(ctx, m.WorkflowID, m.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if isNotFound(err) {
			break // the run is gone (retention): nothing to compare
		}
		if err != nil {
			return 0, false, err
		}
		if in, ok := d.startInput(ev); ok {
			note(in.Detection)
		}
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.SignalFinding {
			var u workflows.FindingUpdate
			if p := a.GetInput().GetPayloads(); len(p) > 0 && d.dataConverter().FromPayload(p[0], &u) == nil {
				if v, _ := u.Finding["state"].(string); v != finding.StateWithdrawn {
					note(u.Detection)
				}
			}
		}
	}
	return last, seen, nil
}

// recordedClose is a close recordClose recorded: when its run started and
// the closing record's finding.RecordTime.
type recordedClose struct {
	at         time.Time
	recordTime int64
}

// lastClose reads the newest run recording a close of the finding whose
// run has workflowID (see recordClose). It is read from the run's start
// event, which does not wait for the run to end: until a worker takes its
// first task (workers down or behind) it runs, and its result would wait
// for that. An error means the history could not be read (no such run is
// no error: nothing recorded a close).
func (d *Dispatcher) lastClose(ctx context.Context, workflowID string) (recordedClose, bool, error) {
	h, ok := d.Client.(HistoryReader)
	if !ok {
		return recordedClose{}, false, nil
	}
	it := h.GetWorkflowHistory(ctx, ClosedPrefix+workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return recordedClose{}, false, nil
	}
	ev, err := it.Next()
	if isNotFound(err) {
		return recordedClose{}, false, nil
	}
	if err != nil {
		return recordedClose{}, false, err
	}
	if ev.GetEventTime() == nil {
		return recordedClose{}, false, nil
	}
	in, ok := d.startInput(ev)
	if !ok || in.Finding["state"] != finding.StateWithdrawn {
		return recordedClose{}, false, nil
	}
	rt, ok := finding.RecordTime(in.Detection)
	if !ok || rt == 0 {
		return recordedClose{}, false, nil
	}
	return recordedClose{at: ev.GetEventTime().AsTime(), recordTime: rt}, true, nil
}

// isNotFound: Temporal has no such workflow execution (never started, or
// removed after the namespace's retention).
func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// endedUnsuccessfully: err is what Get answers for a run that ended without
// a result (failed, cancelled, terminated, timed out), not a failure to
// read it (Temporal unavailable, the read timing out).
//
// A result Temporal returned that cannot be decoded (converter
// ErrUnableToDecode: a payload of another shape; codec.ErrUnencrypted: one
// recorded without encryption, read once it is on) reads the same way: no resend can mend it, so it must not fail
// the detection with a 503 that tells the producer to resend forever.
func endedUnsuccessfully(err error) bool {
	var wee *temporal.WorkflowExecutionError
	return errors.As(err, &wee) || errors.Is(err, converter.ErrUnableToDecode) || errors.Is(err, codec.ErrUnencrypted)
}

// readError is a failure to read the ended run m that decides whether a
// record reopens or closes its finding: the detection is answered as not
// dispatched (503, resend), never as "deduplicated" with nothing done.
func readError(m Match, err error) error {
	return fmt.Errorf("reading run %s of %s: %w", m.RunID, m.WorkflowID, err)
}

// RunGetter is the optional part of the client that reads an ended run's
// result, to tell whether the finding it ran for was withdrawn (reopen).
type RunGetter interface {
	GetWorkflow(ctx context.Context, workflowID, runID string) client.WorkflowRun
}

// reopen starts the playbook again for an active record of a finding
// whose run (m, deduplicated, no longer running) was closed by its
// producer, when the record is later than the one that closed it
// (finding.RecordTime): the producer reopened the finding (CrowdStrike's
// "reopened", an Elastic alert opened again, a Security Hub control failing
// again). The close is the run's own withdrawal (workflows.Withdrawal
// RecordTime) when it arrived while the run ran; when it arrived after the
// run had ended other than withdrawn (contained, denied, failed), the
// close recordClose recorded then, if it was recorded after the run
// started. The new run takes the same workflow id, so the finding's later
// records reach it and copies of the reopening record are deduplicated to
// it. A Create delivered after its Close is not later, and a run never
// closed is never started again. m is returned unchanged when nothing
// starts.
func (d *Dispatcher) reopen(ctx context.Context, c *playbook.Compiled, det intake.Detection, view map[string]any, opts Options, m Match) (Match, error) {
	g, ok := d.Client.(RunGetter)
	if !ok || m.RunID == "" {
		// Without the ended run's id, Get would follow the workflow id to
		// a newer run and wait for it to end.
		return m, nil
	}
	at, ok := finding.RecordTime(det)
	if !ok {
		return m, nil
	}
	var res workflows.Result
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	closedAt := int64(0)
	err := g.GetWorkflow(gctx, m.WorkflowID, m.RunID).Get(gctx, &res)
	switch {
	case err == nil && res.Withdrawn != nil:
		closedAt = res.Withdrawn.RecordTime
	case err != nil && isNotFound(err):
		// The run is gone (retention): nothing to compare with.
	case err != nil && !endedUnsuccessfully(err):
		// Temporal could not be read: not "nothing to reopen".
		return m, readError(m, err)
	default:
		// Ended otherwise (a failed run has no result: its start is
		// asked for). Closes recorded before it started were reopened
		// by the record that started it.
		started, ok, err := d.runStarted(gctx, m, res, err)
		if err != nil {
			return m, readError(m, err)
		}
		if ok {
			last, ok, err := d.lastClose(gctx, m.WorkflowID)
			if err != nil {
				return m, readError(m, err)
			}
			if ok && last.at.After(started) {
				closedAt = last.recordTime
			}
		}
	}
	if closedAt == 0 || at <= closedAt {
		return m, nil
	}
	re, err := d.start(ctx, c, det, view, opts, true)
	if err != nil {
		return m, err
	}
	if re.Deduplicated {
		// A copy of this record reopened it first (or the run is being
		// withdrawn again): the record goes to that run, if it runs.
		if _, err := d.signalOne(ctx, re.WorkflowID, det, view, opts.Requester); err != nil {
			return re, err
		}
		return re, nil
	}
	re.Reopened = true
	return re, nil
}

// Describer is the optional part of the client that tells when a run
// started when its result cannot be read (a failed run: reopen).
type Describer interface {
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

// runStarted is when the ended run m started: from its result res (getErr
// nil), else from the server.
// An error means the server could not be read (NotFound is none: the run
// is gone).
func (d *Dispatcher) runStarted(ctx context.Context, m Match, res workflows.Result, getErr error) (time.Time, bool, error) {
	if getErr == nil {
		return res.StartedAt, !res.StartedAt.IsZero(), nil
	}
	ds, ok := d.Client.(Describer)
	if !ok {
		return time.Time{}, false, nil
	}
	resp, err := ds.DescribeWorkflowExecution(ctx, m.WorkflowID, m.RunID)
	if isNotFound(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	if resp.GetWorkflowExecutionInfo().GetStartTime() == nil {
		return time.Time{}, false, nil
	}
	return resp.GetWorkflowExecutionInfo().GetStartTime().AsTime(), true, nil
}

// start starts the playbook's run for the detection; reopen lets the
// workflow id take a new run once the previous one has ended (see reopen).
func (d *Dispatcher) start(ctx context.Context, c *playbook.Compiled, det intake.Detection, view map[string]any, opts Options, reopen bool) (Match, error) {
	return d.startRun(ctx, c, det, view, opts, "", reopen)
}

// mode is the mode of the playbook's runs for a dispatch.
func mode(pb *playbook.Playbook, opts Options) string {
	switch {
	case opts.DryRun:
		return playbook.ModeDryRun
	case pb.Mode == playbook.ModeShadow:
		return playbook.ModeShadow
	}
	return playbook.ModeLive
}

// startRun is start under the workflow id id ("" = the run's own, see
// start).
func (d *Dispatcher) startRun(ctx context.Context, c *playbook.Compiled, det intake.Detection, view map[string]any, opts Options, id string, reopen bool) (Match, error) {
	pb := c.Playbook
	mode := mode(pb, opts)
	if id == "" {
		id = WorkflowID(pb.Name, det)
		if mode == playbook.ModeDryRun {
			// Dry runs may be repeated; each gets its own id.
			id = "dryrun:" + id + ":" + time.Now().UTC().Format("20060102T150405.000000000")
		} else if mode == playbook.ModeShadow {
			id = "shadow:" + id
		}
	}
	sa := temporal.NewSearchAttributes(
		workflows.SAPlaybookName.ValueSet(pb.Name),
		workflows.SAPlaybookVersion.ValueSet(int64(pb.Version)),
		workflows.SADetectionID.ValueSet(det.UID()),
		workflows.SADetectionSeverity.ValueSet(det.Severity()),
		workflows.SADetectorModel.ValueSet(det.DetectorModel()),
		workflows.SARunStatus.ValueSet(workflows.RunRunning),
		workflows.SARunMode.ValueSet(mode),
	)
	input := workflows.Input{
		Detection: map[string]any(det),
		Finding:   view,
		DryRun:    mode == playbook.ModeDryRun,
		Shadow:    mode == playbook.ModeShadow,
		UIURL:     d.UIURL,
		RunURL:    RunURL(d.UIURL, d.Namespace, id, ""),
		Requester: opts.Requester,
		Approval:  d.Approval,
		// The start request below sets RunStatus=running.
		Rev: workflows.CurrentRev,
	}
	if rev := d.rev(ctx); rev >= workflows.RevByReference || d.ByReference {
		input.PlaybookRef = &workflows.PlaybookRef{Name: pb.Name, Version: pb.Version, Digest: c.Digest}
		input.Rev = max(rev, workflows.RevByReference)
	} else {
		input.Playbook, input.Digest = pb, c.Digest
	}
	sopts := client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                d.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    sa,
		StaticSummary:                            summary(pb, det, mode),
		StaticDetails:                            details(pb, det, view),
		// With a worker on this client (riposte dev), the first workflow
		// task comes back in the start response: no matching round trip.
		// Without one the SDK starts the run the usual way.
		EnableEagerStart: true,
	}
	if reopen {
		sopts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	m := Match{Playbook: pb.Name, Version: pb.Version, Mode: mode, WorkflowID: id}
	run, err := d.Client.ExecuteWorkflow(ctx, sopts, workflows.PlaybookWorkflowType(pb.Name), input)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		m.RunID = already.RunId
		m.Deduplicated = true
	case err != nil:
		return m, fmt.Errorf("starting playbook %s for detection %q: %w", pb.Name, det.UID(), err)
	default:
		m.RunID = run.GetRunID()
		if view["state"] == finding.StateWithdrawn {
			// It runs no step (recordWithdrawn): not a run started.
			d.Metrics.WithdrawalRecorded(pb.Name)
		} else {
			d.Metrics.RunStarted(pb.Name, mode)
		}
	}
	m.URL = RunURL(d.UIURL, d.Namespace, m.WorkflowID, m.RunID)
	return m, nil
}

// Signaller is the optional part of the client that delivers a later
// record of a finding to its running runs.
type Signaller interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// signal sends the record to the live and shadow runs of every playbook
// (knownNames) but those in skip, for the finding (the workflow ids are
// derived, so no lookup is needed; playbooks without a run are skipped).
func (d *Dispatcher) signal(ctx context.Context, det intake.Detection, view map[string]any, by string, skip map[string]bool) ([]string, error) {
	var out []string
	for _, name := range d.knownNames() {
		if skip[name] {
			continue
		}
		for _, id := range runIDs(name, det) {
			ok, err := d.signalOne(ctx, id, det, view, by)
			if err != nil {
				return out, err
			}
			if ok {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// signalOne delivers the record to one run; false when it has no running run.
// The record is sealed (see workflows.FindingClaim): the run refuses
// records that did not come through the intake.
func (d *Dispatcher) signalOne(ctx context.Context, workflowID string, det intake.Detection, view map[string]any, by string) (bool, error) {
	s, ok := d.Client.(Signaller)
	if !ok {
		return false, nil
	}
	u := workflows.FindingUpdate{Detection: map[string]any(det), Finding: view, By: by, Via: workflows.ViaIntake}
	if d.Keys != nil {
		var err error
		if u, err = workflows.SealFinding(d.Keys, workflowID, u, time.Now()); err != nil {
			return false, fmt.Errorf("sealing finding %q for %s: %w", det.UID(), workflowID, err)
		}
	}
	err := s.SignalWorkflow(ctx, workflowID, "", workflows.SignalFinding, u)
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &nf):
		return false, nil // no run, or it already ended
	default:
		return false, fmt.Errorf("delivering finding %q to %s: %w", det.UID(), workflowID, err)
	}
}

// RunURL links to a run in the Temporal UI.
func RunURL(ui, namespace, workflowID, runID string) string {
	if ui == "" {
		return ""
	}
	u := strings.TrimRight(ui, "/") + "/namespaces/" + url.PathEscape(namespace) + "/workflows/" + url.PathEscape(workflowID)
	if runID != "" {
		u += "/" + url.PathEscape(runID)
	}
	return u + "/history"
}

// The Temporal UI renders a run's summary and details as Markdown; the
// detection's text in them (often AI-written) is untrusted and goes through
// mdtext.Text, which makes it show literally.

// summary is the run's static summary: playbook, version and the title.
func summary(pb *playbook.Playbook, det intake.Detection, mode string) string {
	s := fmt.Sprintf("%s v%d: %s", mdtext.Text(pb.Name, 100), pb.Version, mdtext.Text(det.Title(), 160))
	if mode != playbook.ModeLive {
		s = "[" + mode + "] " + s
	}
	return s
}

// details is the run's static details: the detection (its confidence as
// the finding view reads it) and the playbook.
func details(pb *playbook.Playbook, det intake.Detection, view map[string]any) string {
	conf := "unknown"
	if c, ok := finding.Confidence(view); ok {
		conf = fmt.Sprintf("%d", c)
	}
	return fmt.Sprintf("Detection %s from %s, severity %s, confidence %s.\n\nPlaybook %s v%d (owner %s).",
		mdtext.Text(det.UID(), 200), mdtext.Text(det.DetectorModel(), 200), mdtext.Text(det.Severity(), 40), conf,
		mdtext.Text(pb.Name, 100), pb.Version, mdtext.Text(pb.Owner, 100))
}

// rev is the revision runs ask for (see Rev), at most this release's.
func (d *Dispatcher) rev(ctx context.Context) int {
	if d.Rev == nil {
		return 0
	}
	return min(d.Rev(ctx), workflows.LatestRev)
}
