// Package endedruns finds the runs Temporal ended itself: terminated
// (`temporal workflow terminate`, a reset) or timed out, and which run a
// reset's new run was reset from. No workflow code runs at such an end,
// so the processes that watch the namespace act for them: the metrics
// count them (internal/telemetry) and their approval messages are closed
// (internal/approvals); the run's view says it was reset (internal/api)
// and the worker reads the run it was reset from (internal/system). The
// same two read which run a run continues, or continued as, when a
// record reopened a withdrawn run's finding (ContinuedFrom, ContinuedAs).
package endedruns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// ResetterIdentity is the identity of the termination a reset records on
// the run it replaces (go.temporal.io/server/service/history/consts
// IdentityResetter): the reset's new run carries on under the same
// workflow id.
const ResetterIdentity = "history-resetter"

// Query is the visibility query for the runs matching base (a query in
// parentheses' worth, e.g. workflows.PlaybookRunsQuery) that Temporal
// ended itself at or after from, with extra conditions ANDed ("" for
// none). Its syntax is understood by SQL and Elasticsearch visibility.
func Query(base, extra string, from time.Time) string {
	q := fmt.Sprintf("(%s) AND ExecutionStatus IN ('Terminated', 'TimedOut')", base)
	if extra != "" {
		q += " AND " + extra
	}
	return q + fmt.Sprintf(" AND CloseTime >= '%s'", from.UTC().Format(time.RFC3339Nano))
}

// Each calls fn for every run that query lists, page by page (each page
// asked within 10 s); an error from fn stops the listing and is returned.
func Each(ctx context.Context, c client.Client, namespace, query string, fn func(*workflowpb.WorkflowExecutionInfo) error) error {
	var token []byte
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := c.ListWorkflow(cctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace, Query: query, NextPageToken: token, PageSize: 100})
		cancel()
		if err != nil {
			return err
		}
		for _, e := range resp.GetExecutions() {
			if err := fn(e); err != nil {
				return err
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}

// StatusName is a run's status as Riposte's API and messages write it:
// Temporal's name in lower case (running, completed, failed, canceled,
// terminated, continued_as_new, timed_out).
func StatusName(st enumspb.WorkflowExecutionStatus) string {
	// The enum's proto name (String() gives "TimedOut" in this API).
	return strings.ToLower(strings.TrimPrefix(enumspb.WorkflowExecutionStatus_name[int32(st)], "WORKFLOW_EXECUTION_STATUS_"))
}

// TimedOut reports whether the run timed out (else it was terminated).
func TimedOut(e *workflowpb.WorkflowExecutionInfo) bool {
	return e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT
}

// Reset is the record a reset leaves in the history of the run it starts:
// the WorkflowTaskFailed event of cause RESET_WORKFLOW at the reset point.
type Reset struct {
	// BaseRunID is the run it was reset from.
	BaseRunID string
	// EventID is the record's event id, the reset point: the run's events
	// before it are copies of the base run's, up to the workflow task the
	// reset was asked for (its WorkflowTaskFinishEventId, this same id in
	// the base run).
	EventID int64
	// Reason is the reason given to the reset (free text from whoever
	// reset it: the Temporal UI's or `temporal workflow reset`'s).
	Reason string
}

// ResetRecord reads the record of the reset that started run runID of
// workflowID from its history: the one naming runID as its new run. A
// reset of a reset carries its predecessor's record too (copied with the
// history up to the reset point), so the one for this run wins, else the
// last one. A run no reset started has none: nil. Reading stops at the
// record naming the run.
func ResetRecord(ctx context.Context, c client.Client, workflowID, runID string) (*Reset, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var last *Reset
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("reading run %s of %s for the run it was reset from: %w", runID, workflowID, err)
		}
		a := e.GetWorkflowTaskFailedEventAttributes()
		if a == nil || a.GetCause() != enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW || a.GetBaseRunId() == "" {
			continue
		}
		last = &Reset{BaseRunID: a.GetBaseRunId(), EventID: e.GetEventId(), Reason: a.GetFailure().GetMessage()}
		if a.GetNewRunId() == runID {
			return last, nil
		}
	}
	return last, nil
}

// TerminatedByReset reports whether a reset terminated run runID of
// workflowID (its close event is a termination by ResetterIdentity): the
// reset of this run, or of another run of the workflow while this one ran
// (Temporal terminates the current run); the run's describe tells which
// (its ResetRunId is set only on a run a reset was made from).
func TerminatedByReset(ctx context.Context, c client.Client, workflowID, runID string) (bool, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return false, fmt.Errorf("reading the end of run %s of %s: %w", runID, workflowID, err)
		}
		if a := e.GetWorkflowExecutionTerminatedEventAttributes(); a != nil {
			return a.GetIdentity() == ResetterIdentity, nil
		}
	}
	return false, nil
}

// MaxResetChain bounds how far a chain of resets (a reset of a reset …)
// is walked back through ResetRecord: an operator resets a run a few
// times at most, and each step reads a history.
const MaxResetChain = 16

// BaseResetAgain reports whether a run that run runID of workflowID was
// reset from (its reset's base, that base's, and so on) was reset again
// since: its ResetRunId, the latest run a reset of it started, is no
// longer the run of this line. That later reset's run shares the history
// the base gave runID (its approval requests, the containment it holds),
// and Temporal terminated runID if it still ran: runID, though no reset
// was made from it, was not ended by a reset of another run. A run no
// reset started reports false. A base no longer found (past retention)
// is taken as reset again: what it shares cannot be told.
func BaseResetAgain(ctx context.Context, c client.Client, workflowID, runID string) (bool, error) {
	run := runID
	for range MaxResetChain {
		rec, err := ResetRecord(ctx, c, workflowID, run)
		if err != nil || rec == nil || rec.BaseRunID == run {
			return false, err
		}
		desc, err := c.DescribeWorkflowExecution(ctx, workflowID, rec.BaseRunID)
		if err != nil {
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				return true, nil
			}
			return false, fmt.Errorf("reading run %s of %s, which run %s was reset from: %w", rec.BaseRunID, workflowID, run, err)
		}
		if to := desc.GetWorkflowExtendedInfo().GetResetRunId(); to != "" && to != run {
			return true, nil
		}
		run = rec.BaseRunID
	}
	return false, nil
}

// ContinuedFrom is the run that run runID of workflowID continues (its
// start event's ContinuedExecutionRunId: a withdrawn run whose finding was
// reopened, continued as new), "" for a run started otherwise.
func ContinuedFrom(ctx context.Context, c client.Client, workflowID, runID string) (string, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return "", nil
	}
	e, err := it.Next()
	if err != nil {
		return "", fmt.Errorf("reading the start of run %s of %s: %w", runID, workflowID, err)
	}
	return e.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId(), nil
}

// ContinuedAs is the run that run runID of workflowID continued as (its
// close event), "" for a run that ended otherwise.
func ContinuedAs(ctx context.Context, c client.Client, workflowID, runID string) (string, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return "", fmt.Errorf("reading the end of run %s of %s: %w", runID, workflowID, err)
		}
		if a := e.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
			return a.GetNewExecutionRunId(), nil
		}
	}
	return "", nil
}
