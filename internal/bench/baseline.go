package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/mdtext"
	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/workflows"
)

// BaselineWorkflow is the workflow type of the hand-written baseline.
const BaselineWorkflow = "riposte.bench.baseline"

// baselineName is the "playbook" name in the baseline's workflow ids.
const baselineName = "bench-baseline"

// BaselineInput is the baseline workflow's input: the detection only.
type BaselineInput struct {
	Detection map[string]any `json:"detection"`
}

// BaselineResult is what the baseline returns: every action's output.
type BaselineResult struct {
	Contained bool           `json:"contained"`
	Outputs   map[string]any `json:"outputs"`
}

// Baseline is the reference playbook written by hand in Go: the same
// registered action activities, in the same order, with the same activity
// options (Riposte's step defaults), and the same condition on the
// enrichment. It is what a team would write without Riposte.
func Baseline(ctx workflow.Context, in BaselineInput) (BaselineResult, error) {
	det := in.Detection
	res := BaselineResult{Outputs: map[string]any{}}
	call := func(step, action string, params map[string]any) (map[string]any, error) {
		out, err := baselineStep(ctx, step, action, params)
		if err != nil {
			return nil, err
		}
		res.Outputs[step] = out
		return out, nil
	}
	host := str(det, "device", "hostname")
	uid := str(det, "finding_info", "uid")

	rep, err := call("enrich", "virustotal.ip_report", map[string]any{"ip": str(det, "dst_endpoint", "ip")})
	if err != nil {
		return res, err
	}
	containStatus := "skipped"
	if num(rep["malicious"]) > 0 {
		if _, err := call("contain", ContainAction, map[string]any{"hostname": host}); err != nil {
			return res, err
		}
		res.Contained, containStatus = true, "succeeded"
	}
	ticket, err := call("ticket", "jira.create_issue", map[string]any{
		"summary":     fmt.Sprintf("C2 beaconing from %s (%s)", host, uid),
		"description": "Containment: " + containStatus,
		"labels":      []any{"riposte", "bench"},
	})
	if err != nil {
		return res, err
	}
	key, _ := ticket["key"].(string)
	if _, err := call("notify", "pagerduty.trigger", map[string]any{
		"summary":  fmt.Sprintf("Host %s contained; ticket %s", host, key),
		"source":   host,
		"severity": "critical",
	}); err != nil {
		return res, err
	}
	return res, nil
}

// baselineStep runs one action as the interpreter runs a step: the same
// activity options (Riposte's step defaults) and the same call.
func baselineStep(ctx workflow.Context, step, action string, params map[string]any) (map[string]any, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: workflows.DefaultStepTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    workflows.DefaultInitialBackoff,
			BackoffCoefficient: workflows.DefaultBackoff,
			MaximumInterval:    workflows.DefaultMaxInterval,
			MaximumAttempts:    workflows.DefaultMaxAttempts,
		},
		Summary: step,
	})
	var out map[string]any
	if err := workflow.ExecuteActivity(actx, action, baselineCall(workflow.GetInfo(ctx), step, action, params)).Get(ctx, &out); err != nil {
		return nil, fmt.Errorf("step %s: %w", step, err)
	}
	return out, nil
}

// baselineCall is the action call the interpreter would make for a step.
func baselineCall(info *workflow.Info, step, action string, params map[string]any) catalog.Call {
	return catalog.Call{
		Action: action, Params: params, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		StepID: step, Index: -1, IdempotencyKey: info.WorkflowExecution.ID + "/" + step,
	}
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, k := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}

func num(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case json.Number:
		f, _ := n.Float64()
		return f
	}
	return 0
}

// baselineHandler is the baseline's intake, mounted behind the API's token
// check: the same body limit, decoding and schema validation as POST /v1/detections, then one
// ExecuteWorkflow per detection with the same start options the
// dispatcher uses (deterministic id, duplicate rejection, search
// attributes, summary), and a JSON answer.
type baselineHandler struct {
	client    client.Client
	taskQueue string
	validator *intake.Validator
	maxBody   int64
}

type baselineMatch struct {
	WorkflowID   string `json:"workflow_id"`
	RunID        string `json:"run_id"`
	Deduplicated bool   `json:"deduplicated"`
}

func (h *baselineHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody+1))
	if err != nil || int64(len(body)) > h.maxBody {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	dets, err := intake.Decode(bytes.NewReader(body), intake.DecodeOptions{MaxBytes: h.maxBody})
	if err != nil {
		problem.Write(w, intake.DecodeProblem(err))
		return
	}
	if errs := h.validator.Validate(dets); len(errs) > 0 {
		problem.Write(w, intake.ValidationProblem(errs))
		return
	}
	out := make([]baselineMatch, 0, len(dets))
	for _, d := range dets {
		id := baselineName + ":" + d.Key()
		sa := temporal.NewSearchAttributes(
			workflows.SAPlaybookName.ValueSet(baselineName),
			workflows.SAPlaybookVersion.ValueSet(1),
			workflows.SADetectionID.ValueSet(d.UID()),
			workflows.SADetectionSeverity.ValueSet(d.Severity()),
			workflows.SADetectorModel.ValueSet(d.DetectorModel()),
			workflows.SARunStatus.ValueSet(workflows.RunRunning),
			workflows.SARunMode.ValueSet("live"),
		)
		opts := client.StartWorkflowOptions{
			ID:                                       id,
			TaskQueue:                                h.taskQueue,
			WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
			WorkflowExecutionErrorWhenAlreadyStarted: true,
			TypedSearchAttributes:                    sa,
			StaticSummary:                            fmt.Sprintf("%s v1: %s", baselineName, mdtext.Text(d.Title(), 160)),
			StaticDetails:                            fmt.Sprintf("Detection %s from %s, severity %s.", mdtext.Text(d.UID(), 200), mdtext.Text(d.DetectorModel(), 200), mdtext.Text(d.Severity(), 40)),
			EnableEagerStart:                         true,
		}
		m := baselineMatch{WorkflowID: id}
		run, err := h.client.ExecuteWorkflow(r.Context(), opts, BaselineWorkflow, BaselineInput{Detection: map[string]any(d)})
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		switch {
		case err == nil:
			m.RunID = run.GetRunID()
		case errors.As(err, &already):
			m.RunID, m.Deduplicated = already.RunId, true
		default:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		out = append(out, m)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"started": len(out), "runs": out, "at": time.Now().UTC()})
}
