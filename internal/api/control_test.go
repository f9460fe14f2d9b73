package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/workflows"
)

// rollbackRun is a run whose isolation of h1 succeeded.
func rollbackRun(mode string, simulated bool) *RunDetail {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &RunDetail{
		RunSummary: RunSummary{WorkflowID: "w1", RunID: "r1", Kind: KindPlaybook, Mode: mode},
		Simulated:  simulated,
		Steps: []workflows.StepResult{{ID: "isolate", Action: "defender.isolate_machine", Status: playbook.StatusSucceeded,
			Params: map[string]any{"hostname": "h1"}, EndedAt: &at}},
	}
}

func TestRollbackPlan(t *testing.T) {
	ended := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const simulated = "the run was simulated (dry_run/shadow); nothing was contained"
	cases := []struct {
		name    string
		run     *RunDetail
		undo    int
		refusal string
	}{
		{"live run", rollbackRun(playbook.ModeLive, false), 1, ""},
		// A rollback run's steps are undo calls (lift_containment's undo is
		// contain_host): rolling them back would contain again with no gate.
		{"rollback run", &RunDetail{RunSummary: RunSummary{WorkflowID: "rollback:w1", Kind: KindRollback},
			Steps: []workflows.StepResult{{ID: "isolate.rollback", Action: "crowdstrike.lift_containment", Status: playbook.StatusSucceeded, EndedAt: &ended,
				Params: map[string]any{"hostname": "h1"}}}}, 0, RefusalRollbackOfRollback},
		{"dry run", rollbackRun(playbook.ModeDryRun, false), 0, simulated},
		{"shadow run", rollbackRun(playbook.ModeShadow, false), 0, simulated},
		{"result says simulated", rollbackRun("", true), 0, simulated},
		{"partly failed for_each", &RunDetail{RunSummary: RunSummary{WorkflowID: "w1", Mode: playbook.ModeLive},
			Steps: []workflows.StepResult{{ID: "isolate", Action: "defender.isolate_machine", Status: playbook.StatusFailed, EndedAt: &ended,
				Items: []workflows.ItemResult{
					{Index: 0, Status: playbook.StatusSucceeded, Params: map[string]any{"hostname": "h1"}},
					{Index: 1, Status: playbook.StatusFailed, Params: map[string]any{"hostname": "h2"}},
				}}}}, 1, ""},
		{"hold already released", func() *RunDetail {
			d := rollbackRun(playbook.ModeLive, false)
			d.Holds = []workflows.Hold{{Step: "isolate", Undo: "defender.unisolate_machine", ReleasedAt: &ended}}
			return d
		}(), 0, "the run's containment was already released (contain_for elapsed, a later step undid it, or a rollback or withdrawal did)"},
		// The rolled_back mark is sent when a rollback starts: after that
		// rollback failed, a retry must plan the undo again (one after a
		// rollback that succeeded is answered with that rollback).
		{"hold released only by a rollback's mark", func() *RunDetail {
			d := rollbackRun(playbook.ModeLive, false)
			d.Holds = []workflows.Hold{{Step: "isolate", Undo: "defender.unisolate_machine", ReleasedAt: &ended,
				Extensions: []string{"released by rollback rollback:w1 (UALICE)"}}}
			return d
		}(), 1, ""},
		{"hold release failed", func() *RunDetail {
			d := rollbackRun(playbook.ModeLive, false)
			d.Holds = []workflows.Hold{{Step: "isolate", Undo: "defender.unisolate_machine", ReleasedAt: &ended, Error: "503"}}
			return d
		}(), 1, ""},
		{"containment already in place", func() *RunDetail {
			d := rollbackRun(playbook.ModeLive, false)
			d.Steps[0].Output = map[string]any{"already": true, catalog.OutputPreexisting: true}
			return d
		}(), 0, "the run's containment was already in place before it (someone else applied it): a rollback leaves it"},
		{"no succeeded contain step", &RunDetail{RunSummary: RunSummary{WorkflowID: "w1", Mode: playbook.ModeLive}}, 0, "the run has no succeeded contain step"},
		{"undone by a later step", func() *RunDetail {
			d := rollbackRun(playbook.ModeLive, false)
			d.Steps = append(d.Steps, workflows.StepResult{ID: "free", Action: "defender.unisolate_machine", Status: playbook.StatusSucceeded,
				Params: map[string]any{"hostname": "h1"}, EndedAt: &ended})
			return d
		}(), 0, "the run's containment was undone by a later step of the run itself"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			undo, refusal := rollbackPlan(tc.run, activities.Catalog())
			if len(undo) != tc.undo || refusal != tc.refusal {
				t.Errorf("rollbackPlan = %d undo calls %+v, refusal %q; want %d, %q", len(undo), undo, refusal, tc.undo, tc.refusal)
			}
		})
	}
}

// runClient is a Temporal client that knows one ended playbook run (its
// result and search attributes) and records rollback starts.
type runClient struct {
	client.Client // nil: only the methods below are used
	t             *testing.T
	attrs         map[string]any
	result        workflows.Result
	started       []client.StartWorkflowOptions
}

func (c *runClient) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if id != "w1" {
		return nil, serviceerror.NewNotFound("no such run")
	}
	fields := map[string]*commonpb.Payload{}
	for k, v := range c.attrs {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			c.t.Fatal(err)
		}
		fields[k] = p
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution:        &commonpb.WorkflowExecution{WorkflowId: id, RunId: "r1"},
		Type:             &commonpb.WorkflowType{Name: "pb"},
		Status:           enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		StartTime:        timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		CloseTime:        timestamppb.New(time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC)),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields},
	}}, nil
}

func (c *runClient) GetWorkflow(_ context.Context, id, runID string) client.WorkflowRun {
	return resultRun{fakeRun: fakeRun{id: id, runID: runID}, result: c.result}
}

func (c *runClient) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	c.started = append(c.started, o)
	return fakeRun{id: o.ID, runID: "rb1"}, nil
}

func (c *runClient) SignalWorkflow(context.Context, string, string, string, any) error { return nil }

// resultRun is an ended run whose Get returns its result.
type resultRun struct {
	fakeRun
	result workflows.Result
}

func (r resultRun) Get(_ context.Context, v any) error {
	b, err := json.Marshal(r.result)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// The handler answers the rollback of a simulated run with a 409 problem and
// starts nothing; a live run's rollback starts.
func TestRollbackOfSimulatedRunIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mode      string
		simulated bool
		status    int
	}{
		{"dry run", playbook.ModeDryRun, true, http.StatusConflict},
		{"shadow run", playbook.ModeShadow, true, http.StatusConflict},
		{"simulated run without RunMode", "", true, http.StatusConflict},
		{"live run", playbook.ModeLive, false, http.StatusAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, toks, _ := identityServer(t, &fakeStarter{})
			run := rollbackRun(tc.mode, tc.simulated)
			attrs := map[string]any{"PlaybookName": "pb", "RunStatus": "succeeded"}
			if tc.mode != "" {
				attrs["RunMode"] = tc.mode
			}
			tc2 := &runClient{t: t, attrs: attrs,
				result: workflows.Result{Playbook: "pb", Status: "succeeded", Steps: run.Steps, Simulated: tc.simulated}}
			srv.Temporal = tc2
			got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
			if tc.status == http.StatusConflict {
				checkProblem(t, got, problem.Problem{Title: "Nothing to roll back", Status: 409,
					Detail: "the run was simulated (dry_run/shadow); nothing was contained"})
				if len(tc2.started) != 0 {
					t.Errorf("rollback started: %+v", tc2.started)
				}
				return
			}
			if got.code != tc.status || len(tc2.started) != 1 {
				t.Errorf("status %d (%s), %d starts", got.code, got.body, len(tc2.started))
			}
		})
	}
}

// rollbackClient is runClient with Temporal's start rules for the rollback
// workflow id: a running rollback, or a closed one the reuse policy does
// not allow to run again, answers WorkflowExecutionAlreadyStarted (with
// WorkflowExecutionErrorWhenAlreadyStarted; else the existing run).
type rollbackClient struct {
	*runClient
	runs   []fakeRollback // of "rollback:w1", oldest first
	marked int            // rolled_back marks signalled
	inputs []workflows.RollbackInput
}

type fakeRollback struct {
	runID  string
	status enumspb.WorkflowExecutionStatus
}

func (c *rollbackClient) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	if len(args) == 1 {
		if in, ok := args[0].(workflows.RollbackInput); ok {
			c.inputs = append(c.inputs, in)
		}
	}
	if n := len(c.runs); n > 0 {
		last := c.runs[n-1]
		allowed := false
		switch last.status {
		case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED,
			enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
			allowed = o.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
		default: // completed
			allowed = o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED ||
				o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		}
		if !allowed {
			if !o.WorkflowExecutionErrorWhenAlreadyStarted {
				return fakeRun{id: o.ID, runID: last.runID}, nil
			}
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already started", "", last.runID)
		}
	}
	c.started = append(c.started, o)
	rid := fmt.Sprintf("rb-%d", len(c.runs)+1)
	c.runs = append(c.runs, fakeRollback{runID: rid, status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING})
	return fakeRun{id: o.ID, runID: rid}, nil
}

func (c *rollbackClient) SignalWorkflow(_ context.Context, _, _, name string, _ any) error {
	if name == workflows.SignalRolledBack {
		c.marked++
	}
	return nil
}

// A rollback asked again while one runs or after one succeeded is answered
// 200 with that rollback (existing: true) and starts nothing; one asked
// again after a rollback that failed starts a new rollback (202). The run's
// hold carries the first rollback's mark (sent when it started): that mark
// alone does not count as undone.
func TestRollbackAskedAgain(t *testing.T) {
	ended := time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC)
	run := rollbackRun(playbook.ModeLive, false)
	holds := []workflows.Hold{{Step: "isolate", Undo: "defender.unisolate_machine", ReleasedAt: &ended,
		Extensions: []string{"released by rollback rollback:w1 (U0SOCLEAD1)"}}}
	type ask struct {
		status   int
		runID    string
		existing bool
	}
	for _, tc := range []struct {
		name string
		// before is what happened to the first rollback before the second ask.
		before enumspb.WorkflowExecutionStatus
		second ask
	}{
		{"after a rollback that succeeded", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, ask{http.StatusOK, "rb-1", true}},
		{"while the rollback runs", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, ask{http.StatusOK, "rb-1", true}},
		{"after a rollback that failed", enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, ask{http.StatusAccepted, "rb-2", false}},
		{"after a rollback that timed out", enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, ask{http.StatusAccepted, "rb-2", false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, toks, _ := identityServer(t, &fakeStarter{})
			c := &rollbackClient{runClient: &runClient{t: t, attrs: map[string]any{"PlaybookName": "pb", "RunStatus": "succeeded", "RunMode": playbook.ModeLive},
				result: workflows.Result{Playbook: "pb", Status: "succeeded", Steps: run.Steps, Holds: holds}}}
			srv.Temporal = c
			h := srv.Handler()
			askOnce := func(want ask) {
				t.Helper()
				got := serve(h, post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
				var resp RollbackResponse
				if err := json.Unmarshal([]byte(got.body), &resp); err != nil {
					t.Fatalf("status %d, body %s: %v", got.code, got.body, err)
				}
				if got.code != want.status || resp.WorkflowID != "rollback:w1" || resp.RunID != want.runID || resp.Existing != want.existing ||
					len(resp.Undo) != 1 || !strings.Contains(resp.URL, want.runID) {
					t.Errorf("status %d, body %s; want %d with run %s, existing %v, one undo call", got.code, got.body, want.status, want.runID, want.existing)
				}
			}
			askOnce(ask{http.StatusAccepted, "rb-1", false})
			if len(c.runs) != 1 {
				t.Fatalf("the first ask started %d rollbacks, want 1", len(c.runs))
			}
			for _, o := range c.started {
				if o.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY || !o.WorkflowExecutionErrorWhenAlreadyStarted {
					t.Errorf("rollback started with reuse policy %v, error when started %v", o.WorkflowIDReusePolicy, o.WorkflowExecutionErrorWhenAlreadyStarted)
				}
			}
			c.runs[0].status = tc.before
			askOnce(tc.second)
			if want := 1 + btoi(!tc.second.existing); len(c.runs) != want {
				t.Errorf("%d rollback runs, want %d", len(c.runs), want)
			}
			if c.marked != 0 {
				t.Errorf("%d rolled_back marks sent to a run that has ended", c.marked)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
