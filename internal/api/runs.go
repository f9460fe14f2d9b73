package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/dispatch"
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
}

// RunDetail is GET /v1/runs/{id}.
type RunDetail struct {
	RunSummary
	Steps   []workflows.StepResult `json:"steps"`
	Outputs map[string]any         `json:"outputs,omitempty"`
	Error   string                 `json:"error,omitempty"`
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "") + "'" }

// RunQuery builds the visibility query for run filters.
func RunQuery(playbook, status, mode string) string {
	q := []string{"WorkflowType = " + quote(workflows.PlaybookWorkflow)}
	if playbook != "" {
		q = append(q, "PlaybookName = "+quote(playbook))
	}
	if status != "" {
		q = append(q, "RunStatus = "+quote(status))
	}
	if mode != "" {
		q = append(q, "RunMode = "+quote(mode))
	}
	return strings.Join(q, " AND ")
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := timeoutCtx(r)
	defer cancel()
	q := r.URL.Query()
	mode := q.Get("mode")
	if q.Get("shadow") == "true" {
		mode = dispatch.ModeShadow
	}
	limit := 50
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			Problem(w, http.StatusBadRequest, "Bad limit", "limit must be an integer from 1 to 1000")
			return
		}
		limit = n
	}
	resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.Namespace,
		PageSize:  int32(limit),
		Query:     RunQuery(q.Get("playbook"), q.Get("status"), mode),
	})
	if err != nil {
		Problem(w, http.StatusBadGateway, "Cannot list runs", err.Error())
		return
	}
	out := []RunSummary{}
	for _, e := range resp.GetExecutions() {
		out = append(out, s.summary(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
}

func (s *Server) summary(e *workflowpb.WorkflowExecutionInfo) RunSummary {
	sum := RunSummary{
		WorkflowID: e.GetExecution().GetWorkflowId(),
		RunID:      e.GetExecution().GetRunId(),
		Temporal:   strings.ToLower(strings.TrimPrefix(e.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")),
		StartedAt:  e.GetStartTime().AsTime(),
		Mode:       dispatch.ModeLive,
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
	sum.Playbook = str("PlaybookName")
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
	// timed out) shows Temporal's own.
	if e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && (sum.Status == "" || sum.Status == workflows.RunRunning || sum.Status == workflows.RunWaiting) {
		if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			sum.Status = workflows.RunSucceeded
		} else {
			sum.Status = sum.Temporal
		}
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
	runID = d.RunID
	closed := desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	if closed {
		var res workflows.Result
		err := s.Temporal.GetWorkflow(ctx, workflowID, runID).Get(ctx, &res)
		var ae *temporal.ApplicationError
		switch {
		case err == nil:
		case errors.As(err, &ae) && ae.Type() == workflows.ErrRunFailed && ae.HasDetails():
			_ = ae.Details(&res)
		default:
			d.Error = err.Error()
		}
		if res.Steps != nil {
			d.Steps, d.Outputs = res.Steps, res.Outputs
			if res.Error != "" {
				d.Error = res.Error
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
	return d, nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := timeoutCtx(r)
	defer cancel()
	d, err := s.Run(ctx, r.PathValue("id"), r.URL.Query().Get("run_id"))
	if errors.Is(err, errNotFound) {
		Problem(w, http.StatusNotFound, "Run not found", fmt.Sprintf("no run with workflow id %q", r.PathValue("id")))
		return
	}
	if err != nil {
		Problem(w, http.StatusBadGateway, "Cannot read run", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, d)
}
