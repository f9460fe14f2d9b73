package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// reopenedClient is rollbackClient for a finding its detector reopened
// (README, HTTP API: "a new run under the same workflow id"): the run w1
// (r1) started on 2026-01-01, after the earlier run of the finding, whose
// rollback rollback:w1 (rb-1, asked by UEARLIER) completed on 2025-12-31.
// Temporal keeps that rollback run under the same id for the namespace's
// retention, and lists and describes it as rollback:w1.
type reopenedClient struct {
	*rollbackClient
	rbStarted []time.Time // of c.runs, by index
}

var reopenedRunStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (c *reopenedClient) rollbackInfo(i int) *workflowpb.WorkflowExecutionInfo {
	p, _ := converter.GetDefaultDataConverter().ToPayload("UEARLIER")
	if i > 0 {
		p, _ = converter.GetDefaultDataConverter().ToPayload("U0SOCLEAD1")
	}
	info := &workflowpb.WorkflowExecutionInfo{
		Execution:        &commonpb.WorkflowExecution{WorkflowId: "rollback:w1", RunId: c.runs[i].runID},
		Type:             &commonpb.WorkflowType{Name: workflows.RollbackWorkflow},
		Status:           c.runs[i].status,
		StartTime:        timestamppb.New(c.rbStarted[i]),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"RolledBackBy": p}},
	}
	if c.runs[i].status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		info.CloseTime = timestamppb.New(c.rbStarted[i].Add(time.Minute))
	}
	return info
}

func (c *reopenedClient) DescribeWorkflowExecution(ctx context.Context, id, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if id == "rollback:w1" {
		if len(c.runs) == 0 {
			return nil, serviceerror.NewNotFound("no such run")
		}
		return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: c.rollbackInfo(len(c.runs) - 1)}, nil
	}
	return c.runClient.DescribeWorkflowExecution(ctx, id, runID)
}

func (c *reopenedClient) ListWorkflow(_ context.Context, _ *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	d, _ := c.runClient.DescribeWorkflowExecution(context.Background(), "w1", "")
	// Newest first: the reopened run, then the earlier run's rollback.
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{d.GetWorkflowExecutionInfo(), c.rollbackInfo(0)}}, nil
}

func (c *reopenedClient) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, serviceerror.NewNotFound("no worker in this test")
}

func newReopenedClient(t *testing.T) *reopenedClient {
	run := rollbackRun(playbook.ModeLive, false)
	c := &reopenedClient{rollbackClient: &rollbackClient{runClient: &runClient{t: t,
		attrs:  map[string]any{"PlaybookName": "pb", "RunStatus": "succeeded", "RunMode": playbook.ModeLive, "Outcome": "contained"},
		result: workflows.Result{Playbook: "pb", Status: "succeeded", Steps: run.Steps}}}}
	// The earlier run's rollback, which succeeded before this run began.
	c.runs = []fakeRollback{{runID: "rb-1", status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED}}
	c.rbStarted = []time.Time{reopenedRunStart.Add(-24 * time.Hour)}
	return c
}

// README, Undo: "riposte rollback RUN runs the undo of every succeeded
// contain step of a run"; a rollback asked again "after a rollback that
// succeeded is answered with that rollback". A reopened finding's new run
// under the same workflow id contained the host again; asking to roll it
// back was answered 200 "existing" with the earlier run's finished
// rollback (Temporal refused the start: rollback:w1 had completed and the
// reuse policy allows failed ones only), so nothing was undone and the new
// containment stayed in place while the API and CLI said it was rolled
// back. The new run's rollback must start (202, undoing its isolate).
func TestRollbackOfReopenedFindingsNewRunStarts(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newReopenedClient(t)
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	var resp RollbackResponse
	if err := json.Unmarshal([]byte(got.body), &resp); err != nil {
		t.Fatalf("status %d, body %s: %v", got.code, got.body, err)
	}
	if got.code != http.StatusAccepted || resp.Existing || resp.RunID == "rb-1" || len(c.runs) != 2 {
		t.Errorf("status %d, existing %v, rollback run %s, %d rollback runs; want 202 and a new rollback of run r1 (the earlier run's rollback rb-1 undid the earlier run's containment, not this one's): %s",
			got.code, resp.Existing, resp.RunID, len(c.runs), got.body)
	}
	if len(c.inputs) == 0 || c.inputs[len(c.inputs)-1].RunID != "r1" || len(c.inputs[len(c.inputs)-1].Undo) != 1 {
		t.Errorf("rollback inputs %+v; want one for run r1 undoing its isolate", c.inputs)
	}
}

// README, Undo: "the original run shows who rolled it back and when
// (rolled_back_by/rolled_back_at in the API, runs show, runs list)". The
// reopened finding's new run was never rolled back, but GET /v1/runs/w1
// and GET /v1/runs showed it rolled back by UEARLIER (the earlier run's
// rollback, read from rollback:w1 without comparing when it started) while
// its containment was in place.
func TestReopenedRunIsNotMarkedWithEarlierRunsRollback(t *testing.T) {
	srv, toks, logs := identityServer(t, &fakeStarter{})
	srv.Temporal = newReopenedClient(t)
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	h := srv.Handler()
	get := func(path string) response {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+toks["reader"])
		return serve(h, r)
	}
	got := get("/v1/runs/w1")
	var d RunDetail
	if err := json.Unmarshal([]byte(got.body), &d); err != nil || got.code != http.StatusOK {
		t.Fatalf("status %d (%v): %s", got.code, err, got.body)
	}
	if d.RolledBackBy != "" || d.RolledBackAt != nil || d.RollbackRun != "" {
		t.Errorf("GET /v1/runs/w1: rolled_back_by %q, rolled_back_at %v, rollback_run %q; want none: rollback:w1 (started %s) rolled back the earlier run of the finding, this one started %s",
			d.RolledBackBy, d.RolledBackAt, d.RollbackRun, reopenedRunStart.Add(-24*time.Hour).Format(time.RFC3339), reopenedRunStart.Format(time.RFC3339))
	}
	got = get("/v1/runs")
	var list RunsResponse
	if err := json.Unmarshal([]byte(got.body), &list); err != nil || got.code != http.StatusOK {
		t.Fatalf("status %d (%v): %s", got.code, err, got.body)
	}
	for _, r := range list.Runs {
		if r.WorkflowID == "w1" && r.RolledBackBy != "" {
			t.Errorf("GET /v1/runs lists w1 (started %s) rolled back by %q at %v: that rollback is the earlier run's", r.StartedAt.Format(time.RFC3339), r.RolledBackBy, r.RolledBackAt)
		}
	}
}

// README, Undo: "riposte rollback RUN runs the undo of every succeeded
// contain step of a run"; asked again "after a rollback that succeeded" it
// "is answered with that rollback". A run rolled back while a later
// contain step still waited at its gate went on to contain when that gate
// was approved (workflows.TestRolledBackRunDoesNotContainAfterwards); the
// rollback asked again was answered 200 "existing" with the first one,
// which had undone only what came before it, listing the new containment
// under "undo" while starting nothing (reproduced on riposte dev). The
// containment applied after the last rollback started must be undone by a
// new rollback, and only it.
func TestRollbackAskedAgainUndoesContainmentAppliedSince(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newReopenedClient(t)
	t0 := reopenedRunStart
	at := func(m int) *time.Time { v := t0.Add(time.Duration(m) * time.Minute); return &v }
	c.result.Steps = []workflows.StepResult{
		{ID: "isolate", Action: "defender.isolate_machine", Status: playbook.StatusSucceeded, Params: map[string]any{"hostname": "h1"}, EndedAt: at(1)},
		{ID: "contain", Action: "crowdstrike.contain_host", Status: playbook.StatusSucceeded, Params: map[string]any{"hostname": "h2"}, EndedAt: at(4)},
	}
	// This run's rollback, started at 00:02 (after isolate, before contain), succeeded.
	c.rbStarted = []time.Time{*at(2)}
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	var resp RollbackResponse
	if err := json.Unmarshal([]byte(got.body), &resp); err != nil {
		t.Fatalf("status %d, body %s: %v", got.code, got.body, err)
	}
	if got.code != http.StatusAccepted || resp.Existing || len(c.runs) != 2 {
		t.Fatalf("status %d, existing %v, rollback run %s, %d rollback runs; want 202 and a new rollback: contain (h2) succeeded at 00:04, after rollback rb-1 started at 00:02: %s",
			got.code, resp.Existing, resp.RunID, len(c.runs), got.body)
	}
	in := c.inputs[len(c.inputs)-1]
	if len(in.Undo) != 1 || in.Undo[0].Step != "contain" || len(resp.Undo) != 1 {
		t.Errorf("the new rollback undoes %+v (answer %+v); want only contain (h2): rb-1 undid isolate", in.Undo, resp.Undo)
	}
}
