package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/endedruns"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/workflows"
)

// RunSummary is one run in GET /v1/runs.
type RunSummary struct {
	WorkflowID    string     `json:"workflow_id"`
	RunID         string     `json:"run_id"`
	Playbook      string     `json:"playbook"`
	Version       int64      `json:"version"`
	DetectionID   string     `json:"detection_id"`
	Severity      string     `json:"severity,omitempty"`
	DetectorModel string     `json:"detector_model,omitempty"`
	Status        string     `json:"status"`
	Temporal      string     `json:"temporal_status"`
	ApprovalState string     `json:"approval_state,omitempty"`
	Mode          string     `json:"mode"`
	StartedAt     time.Time  `json:"started_at"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	URL           string     `json:"url,omitempty"`
	// Kind is "playbook" for a playbook run, "rollback" for a rollback run
	// (RollbackOf names the run it undoes).
	Kind       string `json:"kind"`
	RollbackOf string `json:"rollback_of,omitempty"`
	// RollbackOfRun is the run (its run id) a rollback run was planned
	// for (MemoRollbackOfRun; empty for rollbacks started before it): a
	// rollback stopped because that run continued as a new run before
	// its mark is not the new run's.
	RollbackOfRun string `json:"rollback_of_run,omitempty"`
	// RequestedBy is who asked for a rollback run.
	RequestedBy string `json:"requested_by,omitempty"`
	// Outcome is what a finished run achieved (workflows.Outcomes).
	Outcome string `json:"outcome,omitempty"`
	// HoldUntil is the next release of a time-boxed containment.
	HoldUntil *time.Time `json:"hold_until,omitempty"`
	// RolledBackBy/At mark a run whose containment was rolled back.
	RolledBackBy string     `json:"rolled_back_by,omitempty"`
	RolledBackAt *time.Time `json:"rolled_back_at,omitempty"`
	// RollbackStatus is the status of the rollback run behind the mark
	// (running, succeeded, failed, ...): the mark is recorded when the
	// rollback starts, so only succeeded says the containment was lifted.
	RollbackStatus string `json:"rollback_status,omitempty"`
}

// Run kinds (RunSummary.Kind, GET /v1/runs?kind=).
const (
	KindPlaybook = "playbook"
	KindRollback = "rollback"
)

// RunDetail is GET /v1/runs/{id}.
type RunDetail struct {
	RunSummary
	Steps   []workflows.StepResult `json:"steps"`
	Outputs map[string]any         `json:"outputs,omitempty"`
	Error   string                 `json:"error,omitempty"`
	// OutcomeDetail says why containment did not happen.
	OutcomeDetail string `json:"outcome_detail,omitempty"`
	// Holds are the run's time-boxed containments with their release
	// times (until), live or final.
	Holds []workflows.Hold `json:"holds,omitempty"`
	// Simulated is set for a dry run or a shadow run: its notify and
	// contain actions were simulated, so there is nothing to roll back.
	Simulated bool `json:"simulated,omitempty"`
	// RollbackRun is the workflow id of the rollback of this run.
	RollbackRun string `json:"rollback_run,omitempty"`
	// Undo is what a rollback run undid (kind rollback).
	Undo []workflows.UndoResult `json:"undo,omitempty"`
	// Finding is the run's current finding view (updated by later records
	// of the finding), FindingChanges the updates applied, Withdrawn set
	// when the detector withdrew the finding.
	Finding        map[string]any            `json:"finding,omitempty"`
	FindingChanges []workflows.FindingChange `json:"finding_changes,omitempty"`
	Withdrawn      *workflows.Withdrawal     `json:"withdrawn,omitempty"`
	// ResetFrom is set on a run a Temporal reset started (the Temporal
	// UI's Reset, `temporal workflow reset`): the run it was reset from.
	// ResetTo is set on a run that was reset: the latest run reset from
	// it (Describe's ResetRunId).
	ResetFrom *ResetFrom `json:"reset_from,omitempty"`
	ResetTo   string     `json:"reset_to,omitempty"`
	// ReopenedFrom is set on a run that continues a withdrawn run whose
	// finding its detector reopened (workflows reopen.go): that run's id.
	// ContinuedAs is set on that withdrawn run: the run it continued as.
	ReopenedFrom string `json:"reopened_from,omitempty"`
	ContinuedAs  string `json:"continued_as,omitempty"`
	// TerminatedByReset is set on a run that a reset of another run of
	// its workflow terminated (the Temporal UI's Reset of the withdrawn
	// run it continues, say), which no reset carries on (no reset_to):
	// the workflow's latest run, which the rollback of the workflow
	// rolls back. Nothing releases this run's holds any more; riposte
	// rollback ID --run-id RUN (run_id) undoes them.
	TerminatedByReset string `json:"terminated_by_reset,omitempty"`
}

// ResetFrom is where a reset run was reset from (endedruns.Reset).
type ResetFrom struct {
	RunID string `json:"run_id,omitempty"`
	// EventID is the reset point: the run's events before it are copies
	// of that run's.
	EventID int64 `json:"event_id,omitempty"`
	// Reason is the reason whoever reset it gave.
	Reason string `json:"reason,omitempty"`
	// Error says why the run it was reset from is not known.
	Error string `json:"error,omitempty"`
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "") + "'" }

// RunQuery builds the visibility query for run filters.
func RunQuery(playbook, status, mode string) string {
	return RunFilter{Playbook: playbook, Status: status, Mode: mode}.Query()
}

// RunFilter selects runs for GET /v1/runs.
type RunFilter struct {
	Playbook, Status, Mode, Outcome string
	// Kind is "" or "all" (playbook and rollback runs), "playbook" or
	// "rollback".
	Kind string
}

// RunStatuses are the values GET /v1/runs?status= accepts: the statuses a
// run's code records, and those of the runs Temporal ended itself
// (terminated, timed out, cancelled without the run's code ending it),
// which a run shows as its status (RunSummary.Status).
var RunStatuses = []string{workflows.RunRunning, workflows.RunWaiting, workflows.RunHolding, workflows.RunSucceeded, workflows.RunFailed,
	StatusTerminated, StatusTimedOut, StatusCanceled}

// The statuses of runs Temporal ended itself: no code of the run ran at
// their end, so its RunStatus still says what it was doing.
const (
	StatusTerminated = "terminated"
	StatusTimedOut   = "timed_out"
	StatusCanceled   = workflows.RunCanceled
)

// liveStatus reports a RunStatus that is true only while the run runs: a
// run that ended with it was ended by Temporal (or recorded no status).
func liveStatus(s string) bool {
	return s == "" || s == workflows.RunRunning || s == workflows.RunWaiting || s == workflows.RunHolding
}

// unrecordedEnd is the visibility condition of a run whose RunStatus does
// not say it ended (summary shows Temporal's status for it).
const unrecordedEnd = "(RunStatus IS NULL OR RunStatus IN ('" + workflows.RunRunning + "', '" + workflows.RunWaiting + "', '" + workflows.RunHolding + "'))"

// statusQuery is the visibility condition of the runs summary shows with
// status: a live status only while the run runs (a run terminated at a gate
// keeps RunStatus waiting_approval), an end status from RunStatus or, for
// a run that did not record its end, from Temporal's.
func statusQuery(status string) string {
	switch status {
	case workflows.RunSucceeded:
		return "(RunStatus = " + quote(status) + " OR (ExecutionStatus = 'Completed' AND " + unrecordedEnd + "))"
	case workflows.RunFailed:
		return "(RunStatus = " + quote(status) + " OR (ExecutionStatus = 'Failed' AND " + unrecordedEnd + "))"
	case StatusTerminated:
		return "ExecutionStatus = 'Terminated' AND " + unrecordedEnd
	case StatusTimedOut:
		return "ExecutionStatus = 'TimedOut' AND " + unrecordedEnd
	case StatusCanceled:
		// Cancelled runs record their end (Temporal shows them Completed);
		// a run Temporal cancelled without its code ending it does not.
		return "(RunStatus = " + quote(status) + " OR (ExecutionStatus = 'Canceled' AND " + unrecordedEnd + "))"
	}
	return "RunStatus = " + quote(status) + " AND ExecutionStatus = 'Running'"
}

// playbookName is the form of a playbook's name (playbook.namePattern);
// a filter value outside it could match nothing, or break the query.
var playbookName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// RunModes are the values GET /v1/runs?mode= accepts (the RunMode search
// attribute).
var RunModes = []string{playbook.ModeLive, playbook.ModeShadow, playbook.ModeDryRun}

// RunKinds are the values GET /v1/runs?kind= accepts.
var RunKinds = []string{KindPlaybook, KindRollback, "all"}

// Validate refuses unknown statuses, outcomes, kinds and modes (a typo would
// silently list nothing).
func (f RunFilter) Validate() error {
	if f.Status != "" && !slices.Contains(RunStatuses, f.Status) {
		return fmt.Errorf("status %q is not one of %s", f.Status, strings.Join(RunStatuses, ", "))
	}
	if f.Outcome != "" && !workflows.ValidOutcome(f.Outcome) {
		return fmt.Errorf("outcome %q is not one of %s", f.Outcome, strings.Join(workflows.Outcomes(), ", "))
	}
	if f.Kind != "" && !slices.Contains(RunKinds, f.Kind) {
		return fmt.Errorf("kind %q is not one of %s", f.Kind, strings.Join(RunKinds, ", "))
	}
	if f.Mode != "" && !slices.Contains(RunModes, f.Mode) {
		return fmt.Errorf("mode %q is not one of %s", f.Mode, strings.Join(RunModes, ", "))
	}
	if f.Playbook != "" && !playbookName.MatchString(f.Playbook) {
		return fmt.Errorf("playbook %q is not a playbook name (lowercase letters, digits and dashes)", f.Playbook)
	}
	if f.Kind == KindRollback && (f.Playbook != "" || f.Status != "" || f.Mode != "" || f.Outcome != "") {
		return errors.New("kind=rollback cannot be combined with playbook, status, mode, shadow or outcome: rollback runs have none of them")
	}
	return nil
}

// Query is the visibility query. Rollback runs have no playbook, status,
// mode or outcome attributes: those filters select playbook runs only.
func (f RunFilter) Query() string {
	var q []string
	kind := f.Kind
	if kind == "" && (f.Playbook != "" || f.Status != "" || f.Mode != "" || f.Outcome != "") {
		kind = KindPlaybook
	}
	switch kind {
	case KindRollback:
		q = append(q, "WorkflowType = "+quote(workflows.RollbackWorkflow))
	case KindPlaybook:
		q = append(q, workflows.PlaybookRunsQuery)
	default:
		q = append(q, "("+workflows.PlaybookRunsQuery+" OR WorkflowType = "+quote(workflows.RollbackWorkflow)+")")
	}
	if f.Playbook != "" {
		q = append(q, "PlaybookName = "+quote(f.Playbook))
	}
	if f.Status != "" {
		q = append(q, statusQuery(f.Status))
	}
	if f.Mode != "" {
		q = append(q, "RunMode = "+quote(f.Mode))
	}
	if f.Outcome != "" {
		q = append(q, "Outcome = "+quote(f.Outcome))
	}
	return strings.Join(q, " AND ")
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := timeoutCtx(r)
	defer cancel()
	q := r.URL.Query()
	mode := q.Get("mode")
	shadow, err := queryFlag(q, "shadow")
	if err != nil {
		problem.Respond(w, http.StatusBadRequest, "Bad filter", err.Error())
		return
	}
	if shadow {
		if mode != "" && mode != playbook.ModeShadow {
			problem.Respond(w, http.StatusBadRequest, "Bad filter", fmt.Sprintf("shadow=true and mode=%s contradict each other; give one", mode))
			return
		}
		mode = playbook.ModeShadow
	}
	limit := 50
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			problem.Respond(w, http.StatusBadRequest, "Bad limit", "limit must be an integer from 1 to 1000")
			return
		}
		limit = n
	}
	f := RunFilter{Playbook: q.Get("playbook"), Status: q.Get("status"), Mode: mode, Outcome: q.Get("outcome"), Kind: q.Get("kind")}
	if err := f.Validate(); err != nil {
		problem.Respond(w, http.StatusBadRequest, "Bad filter", err.Error())
		return
	}
	var token []byte
	if c := q.Get("cursor"); c != "" {
		var why string
		if token, why = decodeCursor(f.Query(), c); token == nil {
			problem.Respond(w, http.StatusBadRequest, "Bad cursor", why)
			return
		}
	}
	resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace:     s.Namespace,
		PageSize:      int32(limit),
		Query:         f.Query(),
		NextPageToken: token,
	})
	if err != nil {
		respondTemporal(w, "Cannot list runs", err)
		return
	}
	out := []RunSummary{}
	for _, e := range resp.GetExecutions() {
		out = append(out, s.summary(e))
	}
	markRolledBack(out)
	s.rollbackMarks(ctx, out)
	body := RunsResponse{Runs: out}
	if t := resp.GetNextPageToken(); len(t) > 0 && s.moreRuns(ctx, f.Query(), t, len(out), limit) {
		// More runs match than this page: the next page is asked for with
		// the same filters and ?cursor=next_cursor (Temporal's page token).
		body.NextCursor = encodeCursor(f.Query(), t)
	}
	writeJSON(w, http.StatusOK, body)
}

// cursorSumLen is the length of each of the two check sums a cursor
// carries before Temporal's page token.
const cursorSumLen = 4

// encodeCursor wraps Temporal's page token as a cursor: base64url of a
// check sum of the token, one of the listing's query (its filters) and
// the token; each sum is the first bytes of a SHA-256. A cursor mistyped
// or cut short when copied then fails the first check, and one given with
// other filters the second (decodeCursor), instead of reaching Temporal,
// which would list another page without a word (its page token is a
// position in the listing, not bound to the query) or wait until the
// request's deadline on a token it cannot read. The sums are keyed by
// nothing: a cursor is the same whichever replica of riposte serve gave
// it, and after a restart. They detect mistakes, they authorise nothing:
// the page token only pages the query the caller may run anyway.
func encodeCursor(query string, token []byte) string {
	b := make([]byte, 0, 2*cursorSumLen+len(token))
	b = append(b, tokenSum(token)...)
	b = append(b, querySum(query, token)...)
	return base64.RawURLEncoding.EncodeToString(append(b, token...))
}

// decodeCursor returns the page token of a cursor encodeCursor made for
// query, or nil and why for any other string.
func decodeCursor(query, c string) ([]byte, string) {
	const notGiven = "cursor must be the next_cursor of a previous GET /v1/runs answer, as given (this one was changed or cut short when copied, or an API of an earlier release gave it: list again from the first page)"
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) <= 2*cursorSumLen {
		return nil, notGiven
	}
	token := b[2*cursorSumLen:]
	if !bytes.Equal(b[:cursorSumLen], tokenSum(token)) {
		return nil, notGiven
	}
	if !bytes.Equal(b[cursorSumLen:2*cursorSumLen], querySum(query, token)) {
		return nil, "cursor was given by a listing with other filters: give the same playbook, status, mode (shadow), outcome and kind as the page it came from, or list again from the first page"
	}
	return token, ""
}

func tokenSum(token []byte) []byte {
	sum := sha256.Sum256(token)
	return sum[:cursorSumLen]
}

func querySum(query string, token []byte) []byte {
	h := sha256.New()
	h.Write([]byte(query))
	h.Write([]byte{0})
	h.Write(token)
	return h.Sum(nil)[:cursorSumLen]
}

// moreRuns reports whether a run is left after a page that came with a
// page token: Temporal's visibility returns one whenever a page is full,
// even when it held the last matching run, and a cursor naming an empty
// page would say "more runs" when there are none. A full page is checked
// by reading one run past it; a failed check keeps the cursor (an empty
// page is a lesser harm than a run that cannot be listed).
func (s *Server) moreRuns(ctx context.Context, query string, token []byte, got, limit int) bool {
	if got < limit {
		return true
	}
	resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace:     s.Namespace,
		PageSize:      1,
		Query:         query,
		NextPageToken: token,
	})
	return err != nil || len(resp.GetExecutions()) > 0
}

// RunsResponse is the body of GET /v1/runs.
type RunsResponse struct {
	Runs []RunSummary `json:"runs"`
	// NextCursor, set while more runs match, lists the next page when
	// given as ?cursor= with the same filters.
	NextCursor string `json:"next_cursor,omitempty"`
}

func (s *Server) summary(e *workflowpb.WorkflowExecutionInfo) RunSummary {
	sum := RunSummary{
		WorkflowID: e.GetExecution().GetWorkflowId(),
		RunID:      e.GetExecution().GetRunId(),
		Temporal:   endedruns.StatusName(e.GetStatus()),
		StartedAt:  e.GetStartTime().AsTime(),
		Mode:       playbook.ModeLive,
	}
	if ct := e.GetCloseTime(); ct != nil && e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t := ct.AsTime()
		sum.ClosedAt = &t
	}
	dc := converter.GetDefaultDataConverter()
	fields := e.GetSearchAttributes().GetIndexedFields()
	str := func(k string) string {
		var v string
		if p, ok := fields[k]; ok {
			_ = dc.FromPayload(p, &v)
		}
		return v
	}
	sum.Kind = KindPlaybook
	if e.GetType().GetName() == workflows.RollbackWorkflow {
		sum.Kind = KindRollback
		sum.RollbackOf = strings.TrimPrefix(sum.WorkflowID, "rollback:")
		sum.RollbackOfRun = s.rollbackOfRun(e)
		sum.Playbook = "rollback"
		sum.Mode = ""
	}
	tm := func(k string) *time.Time {
		var v time.Time
		if p, ok := fields[k]; ok && dc.FromPayload(p, &v) == nil && !v.IsZero() {
			return &v
		}
		return nil
	}
	sum.Outcome = str("Outcome")
	sum.HoldUntil = tm("HoldUntil")
	sum.RolledBackBy = str("RolledBackBy")
	sum.RolledBackAt = tm("RolledBackAt")
	if sum.Kind == KindRollback {
		// A rollback run's RolledBackBy is who asked for it (its memo is
		// encrypted by the codec); it is not itself rolled back.
		sum.RequestedBy, sum.RolledBackBy, sum.RolledBackAt = sum.RolledBackBy, "", nil
	}
	if pb := str("PlaybookName"); pb != "" {
		sum.Playbook = pb
	}
	sum.DetectionID = str("DetectionID")
	sum.Severity = str("DetectionSeverity")
	sum.DetectorModel = str("DetectorModel")
	sum.Status = str("RunStatus")
	sum.ApprovalState = str("ApprovalState")
	if m := str("RunMode"); m != "" {
		sum.Mode = m
	}
	if p, ok := fields["PlaybookVersion"]; ok {
		_ = dc.FromPayload(p, &sum.Version)
	}
	// A run that ended without the workflow recording its status (terminated,
	// timed out) shows Temporal's own: its RunStatus (waiting_approval,
	// holding), ApprovalState (pending) and HoldUntil still say what it was
	// doing, and no decision, release or extension can reach it now.
	if st := e.GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && st != enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		if liveStatus(sum.Status) {
			if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				sum.Status = workflows.RunSucceeded
			} else {
				sum.Status = sum.Temporal
			}
		}
		if sum.ApprovalState == workflows.GatePending || sum.ApprovalState == workflows.GateEscalated {
			sum.ApprovalState = ""
		}
		sum.HoldUntil = nil
	}
	if sum.Status == "" && e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		sum.Status = workflows.RunRunning
	}
	sum.URL = dispatch.RunURL(s.UIURL, s.Namespace, sum.WorkflowID, sum.RunID)
	return sum
}

// Run fetches one run's detail: its summary, live step states (query) and,
// when it has ended, its result.
func (s *Server) Run(ctx context.Context, workflowID, runID string) (*RunDetail, error) {
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, errNotFound
		}
		return nil, err
	}
	d := &RunDetail{RunSummary: s.summary(desc.GetWorkflowExecutionInfo())}
	d.Simulated = d.Mode == playbook.ModeDryRun || d.Mode == playbook.ModeShadow
	runID = d.RunID
	closed := desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	s.resets(ctx, d, desc.GetWorkflowExtendedInfo())
	if d.ResetTo == "" && desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		d.TerminatedByReset = s.terminatedByReset(ctx, workflowID, runID)
	}
	if first := desc.GetWorkflowExecutionInfo().GetFirstRunId(); first != "" && first != runID {
		d.ReopenedFrom, _ = endedruns.ContinuedFrom(ctx, s.Temporal, workflowID, runID)
	}
	if d.Kind == KindRollback {
		s.rollbackDetail(ctx, d, closed)
		return d, nil
	}
	s.rolledBackBy(ctx, d)
	// A run that continued as a new run (a withdrawn run whose finding was
	// reopened) has no result of its own: Get would follow the chain and
	// wait for the new run's. Its queries answer from its history.
	continued := desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
	if continued {
		// Unread, the detail is answered without it.
		d.ContinuedAs, _ = endedruns.ContinuedAs(ctx, s.Temporal, workflowID, runID)
	}
	if closed && !continued {
		var res workflows.Result
		err := s.Temporal.GetWorkflow(ctx, workflowID, runID).Get(ctx, &res)
		var ae *temporal.ApplicationError
		switch {
		case err == nil:
		case errors.As(err, &ae) && ae.Type() == workflows.ErrRunFailed && ae.HasDetails():
			// Details that cannot be decoded (a payload key this process
			// lacks) say so, naming the key; the steps query below would
			// only fail in a less telling way.
			if derr := ae.Details(&res); derr != nil {
				d.Error = fmt.Sprintf("the run failed; its step results cannot be read: %v", derr)
			}
		default:
			d.Error = err.Error()
		}
		if res.Steps != nil {
			d.Steps, d.Outputs, d.Holds = res.Steps, res.Outputs, res.Holds
			d.Simulated = d.Simulated || res.Simulated
			d.Finding, d.FindingChanges, d.Withdrawn = res.Finding, res.FindingChanges, res.Withdrawn
			if res.Error != "" {
				d.Error = res.Error
			}
			if res.Outcome != "" {
				d.Outcome, d.OutcomeDetail = res.Outcome, res.OutcomeDetail
			}
			if rb := res.RolledBack; rb != nil && d.RolledBackBy == "" {
				at := rb.At
				d.RolledBackBy, d.RolledBackAt, d.RollbackRun = rb.By, &at, rb.RollbackID
			}
			return d, nil
		}
	}
	v, err := s.Temporal.QueryWorkflow(ctx, workflowID, runID, workflows.QuerySteps)
	if err != nil {
		if d.Error == "" {
			d.Error = fmt.Sprintf("step states unavailable: %v", err)
		}
		return d, nil
	}
	_ = v.Get(&d.Steps)
	// Runs started before holds could be queried have no such query.
	if hv, err := s.Temporal.QueryWorkflow(ctx, workflowID, runID, workflows.QueryHolds); err == nil {
		_ = hv.Get(&d.Holds)
	}
	// Runs started before the finding lifecycle have no such query.
	if fv, err := s.Temporal.QueryWorkflow(ctx, workflowID, runID, workflows.QueryFinding); err == nil {
		var lf workflows.LiveFinding
		if fv.Get(&lf) == nil {
			d.Finding, d.FindingChanges, d.Withdrawn = lf.Finding, lf.Changes, lf.Withdrawn
		}
	}
	return d, nil
}

// resets fills the reset marks of a run from its describe answer: the
// run a reset ended names the latest run reset from it (ResetRunId), and a
// run a reset started has a reset time, and only then is its history read
// for the reset's record (the run it was reset from, the same record the
// worker reads: endedruns.ResetRecord). A record that cannot be read
// leaves the mark with the reason: the run was reset all the same.
func (s *Server) resets(ctx context.Context, d *RunDetail, ext *workflowpb.WorkflowExecutionExtendedInfo) {
	d.ResetTo = ext.GetResetRunId()
	if ext.GetLastResetTime() == nil {
		return
	}
	r, err := endedruns.ResetRecord(ctx, s.Temporal, d.WorkflowID, d.RunID)
	switch {
	case err != nil:
		d.ResetFrom = &ResetFrom{Error: fmt.Sprintf("the run was reset; the run it was reset from cannot be read: %v", err)}
	case r == nil:
		d.ResetFrom = &ResetFrom{Error: "the run was reset, but its history holds no reset record naming the run it was reset from"}
	default:
		d.ResetFrom = &ResetFrom{RunID: r.BaseRunID, EventID: r.EventID, Reason: r.Reason}
	}
}

// terminatedByReset is, of run runID of workflowID that a reset
// terminated and no reset was made from (its reset_to is empty), the
// workflow's latest run: the reset of another run started it, or a later
// one; "" for a run terminated otherwise, or when either cannot be read.
// A run reset from a run that was reset again since (the operator reset
// the same run twice) is not one: the later reset's run carries on what
// they share (endedruns.BaseResetAgain), and a rollback naming this run
// would lift that run's containment.
func (s *Server) terminatedByReset(ctx context.Context, workflowID, runID string) string {
	if by, err := endedruns.TerminatedByReset(ctx, s.Temporal, workflowID, runID); err != nil || !by {
		return ""
	}
	if again, err := endedruns.BaseResetAgain(ctx, s.Temporal, workflowID, runID); err != nil || again {
		return ""
	}
	latest, err := s.Temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return ""
	}
	if r := latest.GetWorkflowExecutionInfo().GetExecution().GetRunId(); r != runID {
		return r
	}
	return ""
}

// endedFindingTimeout bounds the finding query of an ended run: it needs a
// worker to replay the run, and without one the detail is answered
// without the view rather than not at all.
var endedFindingTimeout = 5 * time.Second

// endedFinding fills the finding view of an ended run from its finding
// query (runs recorded before the finding lifecycle have none: no view).
func (s *Server) endedFinding(ctx context.Context, d *RunDetail) {
	qctx, cancel := context.WithTimeout(ctx, endedFindingTimeout)
	defer cancel()
	fv, err := s.Temporal.QueryWorkflow(qctx, d.WorkflowID, d.RunID, workflows.QueryFinding)
	if err != nil {
		return
	}
	var lf workflows.LiveFinding
	if fv.Get(&lf) == nil && lf.Finding != nil {
		d.Finding = lf.Finding
	}
}

// markRolledBack marks the runs of a list whose rollback run is in the same
// list, for runs that had ended before their rollback (their own search
// attributes cannot change any more).
func markRolledBack(runs []RunSummary) {
	rollbacks := map[string][]RunSummary{}
	for _, r := range runs {
		if r.Kind == KindRollback {
			rollbacks[r.RollbackOf] = append(rollbacks[r.RollbackOf], r)
		}
	}
	for i := range runs {
		r := &runs[i]
		if r.Kind != KindPlaybook || r.RollbackStatus != "" {
			continue
		}
		// The latest rollback, never one older than the run (a reopened
		// finding's new run under the same id).
		var mark *RunSummary
		for j, rb := range rollbacks[r.WorkflowID] {
			if !rb.StartedAt.Before(r.StartedAt) && !rb.ofAnotherRun(r.RunID) && (mark == nil || rb.StartedAt.After(mark.StartedAt)) {
				mark = &rollbacks[r.WorkflowID][j]
			}
		}
		if mark != nil {
			if r.RolledBackBy == "" {
				at := mark.StartedAt
				r.RolledBackBy, r.RolledBackAt = mark.RequestedBy, &at
			}
			r.RollbackStatus = mark.Status
		}
	}
}

// rollbackMarks fills the rollback marks of the listed playbook runs that
// have none after markRolledBack: a run that had ended before it was
// rolled back cannot record it (a closed run's attributes are final), and
// its rollback run may be on another page (newest first: the rollback
// usually on the page before) or not listed at all (a playbook, status,
// mode or outcome filter lists playbook runs only). As rolledBackBy does
// for one run, the mark is read from rollback:<id>: one visibility query
// per 100 runs. A failure leaves the marks out and is logged.
func (s *Server) rollbackMarks(ctx context.Context, runs []RunSummary) {
	want := map[string][]int{}
	var ids []string
	for i, r := range runs {
		// A running run records its rollback itself, when the rollback
		// starts: whether the rollback succeeded is read for a marked run.
		if r.Kind != KindPlaybook || r.RollbackStatus != "" || (r.RolledBackBy == "" && r.ClosedAt == nil) {
			continue
		}
		id := "rollback:" + r.WorkflowID
		if _, ok := want[id]; !ok {
			ids = append(ids, id)
		}
		want[id] = append(want[id], i)
	}
	for chunk := range slices.Chunk(ids, 100) {
		quoted := make([]string, len(chunk))
		for i, id := range chunk {
			quoted[i] = quote(id)
		}
		resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Namespace,
			PageSize:  int32(len(chunk)),
			Query:     "WorkflowType = " + quote(workflows.RollbackWorkflow) + " AND WorkflowId IN (" + strings.Join(quoted, ", ") + ")",
		})
		if err != nil {
			s.Logger.Warn("listing runs: cannot read the rollback runs of the listed runs; their rollback marks are left out", "error", err)
			return
		}
		for _, e := range resp.GetExecutions() {
			rb := s.summary(e)
			for _, i := range want[rb.WorkflowID] {
				// Newest first: the latest rollback; never one older than
				// the run (a reopened finding's new run under the same id).
				if runs[i].RollbackStatus != "" || rb.StartedAt.Before(runs[i].StartedAt) || rb.ofAnotherRun(runs[i].RunID) {
					continue
				}
				if runs[i].RolledBackBy == "" {
					at := rb.StartedAt
					runs[i].RolledBackBy, runs[i].RolledBackAt = rb.RequestedBy, &at
				}
				runs[i].RollbackStatus = rb.Status
			}
		}
	}
}

// rolledBackBy fills the rollback marks of a run from its rollback
// workflow (rollback:<id>) when the run itself could not record them (it
// had ended before the rollback; a closed run's attributes are final).
func (s *Server) rolledBackBy(ctx context.Context, d *RunDetail) {
	rid := "rollback:" + d.WorkflowID
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, rid, "")
	if err != nil {
		return
	}
	info := desc.GetWorkflowExecutionInfo()
	if !info.GetStartTime().AsTime().Before(d.StartedAt) && s.rollbackOfAnotherRun(info, d.RunID) {
		// Planned for another run (the latest run's, after this run, a
		// reset of another run terminated, was rolled back by run_id):
		// this run's may have run before it.
		if info, err = approvals.OwnRollback(ctx, s.Temporal, s.dataConverter(), s.Namespace, d.WorkflowID, d.RunID, d.StartedAt); err != nil || info == nil {
			return
		}
	}
	rb := s.summary(info)
	if rb.StartedAt.Before(d.StartedAt) || s.rollbackOfAnotherRun(info, d.RunID) {
		// The rollback of an earlier run under the same workflow id (a
		// finding its detector reopened; a withdrawn run that continued
		// as this one before the rollback asked for it began): not this
		// run's.
		return
	}
	d.RollbackRun, d.RollbackStatus = rid, rb.Status
	if d.RolledBackBy != "" {
		return
	}
	at := rb.StartedAt
	d.RolledBackBy, d.RolledBackAt = rb.RequestedBy, &at
}

// MemoRequestedBy is the memo field of a rollback run naming who asked.
const MemoRequestedBy = "requested_by"

// MemoRollbackOfRun is the memo field of a rollback run naming the run
// (its run id) it was planned for. Rollbacks started before it have none.
const MemoRollbackOfRun = approvals.MemoRollbackOfRun

// rollbackOfAnotherRun reports whether the rollback run described by info
// says it was planned for a run other than runID (MemoRollbackOfRun).
func (s *Server) rollbackOfAnotherRun(info *workflowpb.WorkflowExecutionInfo, runID string) bool {
	return RunSummary{RollbackOfRun: s.rollbackOfRun(info)}.ofAnotherRun(runID)
}

// rollbackOfRun reads MemoRollbackOfRun of the rollback run described by
// info ("" when it has none, or it cannot be read; a memo is encoded as
// payloads are, encrypted when they are). Visibility (ListWorkflow)
// answers memos too.
func (s *Server) rollbackOfRun(info *workflowpb.WorkflowExecutionInfo) string {
	p, ok := info.GetMemo().GetFields()[MemoRollbackOfRun]
	var of string
	if !ok || s.dataConverter().FromPayload(p, &of) != nil {
		return ""
	}
	return of
}

// ofAnotherRun reports whether rollback run rb says it was planned for a
// run other than runID: not that run's rollback.
func (rb RunSummary) ofAnotherRun(runID string) bool {
	return rb.RollbackOfRun != "" && rb.RollbackOfRun != runID
}

// dataConverter is the converter payloads are read with: the
// dispatcher's (encryption, compression), else the default.
func (s *Server) dataConverter() converter.DataConverter {
	if s.Dispatcher != nil && s.Dispatcher.DataConverter != nil {
		return s.Dispatcher.DataConverter
	}
	return converter.GetDefaultDataConverter()
}

// rollbackDetail reads a rollback run: its undo calls as steps.
func (s *Server) rollbackDetail(ctx context.Context, d *RunDetail, closed bool) {
	d.Steps = []workflows.StepResult{}
	if !closed {
		return
	}
	var res []workflows.UndoResult
	err := s.Temporal.GetWorkflow(ctx, d.WorkflowID, d.RunID).Get(ctx, &res)
	var ae *temporal.ApplicationError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Type() == workflows.ErrRollbackFailed && ae.HasDetails():
		d.Error = ae.Message()
		if derr := ae.Details(&res); derr != nil {
			d.Error += "; its undo results cannot be read: " + derr.Error()
		}
	default:
		d.Error = err.Error()
		// A terminated run's result says "terminated", never why: the
		// reason given to the termination (the API's, when it stopped a
		// rollback whose run continued before its mark) is in its close
		// event.
		if d.Temporal == endedruns.StatusName(enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED) {
			if why := s.terminateReason(ctx, d.WorkflowID, d.RunID); why != "" {
				d.Error = "terminated: " + why
			}
		}
	}
	d.Undo = res
	for _, u := range res {
		id := u.Step + ".rollback"
		if u.Index >= 0 {
			id = fmt.Sprintf("%s.rollback[%d]", u.Step, u.Index)
		}
		st := workflows.StepResult{ID: id, Name: "undo " + u.Step + " (" + u.Action + ")", Action: u.Undo, Status: u.Status, Params: u.Params, Error: u.Error}
		if u.Output != nil {
			st.Output = u.Output
		}
		if u.Already {
			st.Reason = "nothing to undo: " + u.Undo + " found it already undone (released by someone else, or never applied there); the vendor did not act"
		}
		d.Steps = append(d.Steps, st)
	}
}

// terminateReason is the reason given to the termination of run runID of
// id ("" when it was not terminated, gave none, or cannot be read).
func (s *Server) terminateReason(ctx context.Context, id, runID string) string {
	it := s.Temporal.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return ""
		}
		if a := e.GetWorkflowExecutionTerminatedEventAttributes(); a != nil {
			return a.GetReason()
		}
	}
	return ""
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := timeoutCtx(r)
	defer cancel()
	d, err := s.Run(ctx, r.PathValue("id"), r.URL.Query().Get("run_id"))
	if errors.Is(err, errNotFound) {
		detail := fmt.Sprintf("no run with workflow id %q", r.PathValue("id"))
		if rid := r.URL.Query().Get("run_id"); rid != "" {
			detail = fmt.Sprintf("no run %q under workflow id %q (run_id; without it, the latest run)", rid, r.PathValue("id"))
		}
		problem.Respond(w, http.StatusNotFound, "Run not found", detail)
		return
	}
	if err != nil {
		respondTemporal(w, "Cannot read run", err)
		return
	}
	if d.Kind == KindPlaybook {
		s.unreleasedByRollback(ctx, d)
	}
	if d.Kind == KindPlaybook && d.ClosedAt != nil && d.Finding == nil {
		// An ended run's result carries its view only when a later record
		// changed it; the view it ran with (which host, user, IP) is still
		// answered by its finding query, from its history.
		s.endedFinding(ctx, d)
	}
	writeJSON(w, http.StatusOK, d)
}

// releasedByRollback starts the note (workflows: a hold's Extensions) of
// a hold the rollback mark released: the mark is sent when the rollback
// starts, before any undo ran (workflows.HoldsForRollback).
const releasedByRollback = "released by rollback "

// unreleasedByRollback shows the holds the run's rollback mark released as
// not released when that rollback did not succeed: the run records the
// release when the rollback starts, and an undo that failed (a firewall
// refusing the unblock) left the containment in place. Each such hold
// gets the error of its failed undo, or says how the rollback ended.
func (s *Server) unreleasedByRollback(ctx context.Context, d *RunDetail) {
	if d.RollbackRun == "" || d.RollbackStatus == "" || d.RollbackStatus == workflows.RunSucceeded || d.RollbackStatus == workflows.RunRunning {
		return
	}
	var marked []int
	for i, h := range d.Holds {
		if h.ReleasedAt == nil || h.Error != "" {
			continue
		}
		for _, e := range h.Extensions {
			if strings.HasPrefix(e, releasedByRollback+d.RollbackRun) {
				marked = append(marked, i)
				break
			}
		}
	}
	if len(marked) == 0 {
		return
	}
	rb := &RunDetail{RunSummary: RunSummary{WorkflowID: d.RollbackRun}}
	if desc, err := s.Temporal.DescribeWorkflowExecution(ctx, d.RollbackRun, ""); err == nil {
		rb.RunID = desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		s.rollbackDetail(ctx, rb, true)
	}
	for _, i := range marked {
		h := &d.Holds[i]
		h.Error = fmt.Sprintf("its rollback (%s) ended %s before undoing it: the containment is still in place", d.RollbackRun, d.RollbackStatus)
		for _, u := range rb.Undo {
			if u.Step != h.Step {
				continue
			}
			if u.Status == workflows.RunSucceeded {
				h.Error = ""
				continue
			}
			h.Error = fmt.Sprintf("its rollback (%s) failed to undo it: %s; the containment is still in place", d.RollbackRun, u.Error)
			break
		}
	}
}

// ActiveHold is one time-boxed containment waiting for release, in
// GET /v1/holds.
type ActiveHold struct {
	workflows.Hold
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Playbook   string `json:"playbook"`
	URL        string `json:"url,omitempty"`
}

// HoldsResponse is the body of GET /v1/holds.
type HoldsResponse struct {
	Holds []ActiveHold `json:"holds"`
	// Truncated is true when more runs are holding than one listing
	// reads (Detail says how many were read).
	Truncated bool   `json:"truncated,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// HoldingRunsQuery lists the running playbook runs with a hold in place:
// HoldUntil is set while one is pending, from the moment its step
// succeeded, also while later steps still run or wait at a gate (their
// RunStatus is running or waiting_approval, not holding); RunStatus
// holding covers runs that recorded it without HoldUntil.
const HoldingRunsQuery = workflows.PlaybookRunsQuery + " AND (RunStatus = 'holding' OR HoldUntil IS NOT NULL) AND ExecutionStatus = 'Running'"

// listHolds lists the active holds of every holding run, soonest release
// first.
func (s *Server) listHolds(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := timeoutCtx(r)
	defer cancel()
	resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.Namespace,
		PageSize:  1000,
		Query:     HoldingRunsQuery,
	})
	if err != nil {
		respondTemporal(w, "Cannot list holds", err)
		return
	}
	out := []ActiveHold{}
	for _, e := range resp.GetExecutions() {
		sum := s.summary(e)
		v, err := s.Temporal.QueryWorkflow(ctx, sum.WorkflowID, sum.RunID, workflows.QueryHolds)
		if err != nil {
			// A run started before holds could be queried: its release
			// time is in its search attribute only.
			if sum.HoldUntil != nil {
				out = append(out, ActiveHold{Hold: workflows.Hold{Until: *sum.HoldUntil}, WorkflowID: sum.WorkflowID, RunID: sum.RunID, Playbook: sum.Playbook, URL: sum.URL})
			}
			continue
		}
		var holds []workflows.Hold
		_ = v.Get(&holds)
		for _, h := range holds {
			if h.ReleasedAt == nil {
				out = append(out, ActiveHold{Hold: h, WorkflowID: sum.WorkflowID, RunID: sum.RunID, Playbook: sum.Playbook, URL: sum.URL})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Until.Before(out[j].Until) })
	body := HoldsResponse{Holds: out}
	if len(resp.GetNextPageToken()) > 0 {
		// More holding runs than one page: say so rather than list part
		// of them as if it were all.
		body.Truncated = true
		body.Detail = fmt.Sprintf("more than %d runs are holding; these are the holds of the first %d (the HoldUntil search attribute in the Temporal UI lists every one)", len(resp.GetExecutions()), len(resp.GetExecutions()))
	}
	writeJSON(w, http.StatusOK, body)
}
