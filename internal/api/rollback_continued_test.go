package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/workflows"
)

// continuedClient models a finding its detector closed while run r-a held
// an isolation (contain_for): r-a withdrawn and holding, then reopened, so
// that r-a continued as run r-b (continue-as-new, workflows reopen.go),
// handing its hold over. current is the run Temporal answers for w1 at
// first; continueOnSignal makes r-a continue as r-b when the rolled_back
// mark is sent to it (the handover came first: Temporal refuses a signal
// to a run that has ended as NotFound).
type continuedClient struct {
	client.Client // nil: only the methods below are used
	t             *testing.T
	current       string
	continued     bool // r-a has continued as r-b
	runs          map[string]continuedRun
	started       []client.StartWorkflowOptions
	inputs        []workflows.RollbackInput
	marks         []string // run ids the rolled_back mark reached
	terminated    []string // rollback run ids terminated
	// continueOnSignal: r-a continues as r-b just before the mark arrives.
	continueOnSignal bool
	// ended: how a run ended (Temporal ended it, or it was cancelled):
	// closed at its start plus an hour. Unset: running.
	ended map[string]enumspb.WorkflowExecutionStatus
	// rbStatus and rbStart, when set, describe the latest rollback run
	// (else running, started 40 minutes in).
	rbStatus enumspb.WorkflowExecutionStatus
	rbStart  time.Time
	// signalErr: Temporal answers the mark with this error (r-a still
	// runs, the mark not taken).
	signalErr error
	// terminateTakes: how long Temporal takes to answer the termination.
	terminateTakes time.Duration
	// alreadyStarted: the latest rollback in started still runs, and a
	// start is answered WorkflowExecutionAlreadyStarted.
	alreadyStarted bool
	// reasons: the reason given to each termination.
	reasons []string
}

type continuedRun struct {
	steps []workflows.StepResult
	holds []map[string]any // as the holds query answers
	wd    *workflows.Withdrawal
	start time.Time
}

var continuedStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newContinuedClient(t *testing.T) *continuedClient {
	at := func(m int) *time.Time { v := continuedStart.Add(time.Duration(m) * time.Minute); return &v }
	isolate := workflows.StepResult{ID: "isolate", Action: "defender.isolate_machine", Status: playbook.StatusSucceeded,
		Params: map[string]any{"hostname": "fin-ws-042"}, EndedAt: at(1)}
	return &continuedClient{t: t, current: "r-a", runs: map[string]continuedRun{
		"r-a": {steps: []workflows.StepResult{isolate},
			holds: []map[string]any{{"step": "isolate", "undo": "defender.unisolate_machine", "until": continuedStart.Add(4 * time.Hour)}},
			wd:    &workflows.Withdrawal{Reason: "status_id is 4 (Resolved)"}, start: continuedStart},
		// r-b's own isolation of another host; the hold of fin-ws-042 it
		// inherited from r-a.
		"r-b": {steps: []workflows.StepResult{{ID: "isolate", Action: "defender.isolate_machine", Status: playbook.StatusSucceeded,
			Params: map[string]any{"hostname": "fin-ws-077"}, EndedAt: at(31)}},
			holds: []map[string]any{
				{"step": "isolate", "undo": "defender.unisolate_machine", "until": continuedStart.Add(30*time.Minute + 4*time.Hour)},
				{"step": workflows.InheritedPrefix + "isolate", "undo": "defender.unisolate_machine", "until": continuedStart.Add(4 * time.Hour),
					"inherited_from": "r-a", "targets": []map[string]any{{"hostname": "fin-ws-042"}}},
			}, start: continuedStart.Add(30 * time.Minute)},
	}}
}

func (c *continuedClient) runStatus(runID string) enumspb.WorkflowExecutionStatus {
	if runID == "r-a" && c.continued {
		return enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
	}
	if st, ok := c.ended[runID]; ok {
		return st
	}
	return enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

func (c *continuedClient) DescribeWorkflowExecution(_ context.Context, id, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if id == "rollback:w1" && len(c.started) > 0 {
		// The latest rollback run, started 40 minutes in (after r-b
		// began), as Temporal describes it.
		o := c.started[len(c.started)-1]
		memo := &commonpb.Memo{Fields: map[string]*commonpb.Payload{}}
		for k, v := range o.Memo {
			memo.Fields[k], _ = converter.GetDefaultDataConverter().ToPayload(v)
		}
		st := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		if len(c.terminated) == len(c.started) {
			st = enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED
		}
		if c.rbStatus != 0 {
			st = c.rbStatus
		}
		start := continuedStart.Add(40 * time.Minute)
		if !c.rbStart.IsZero() {
			start = c.rbStart
		}
		by, _ := converter.GetDefaultDataConverter().ToPayload("U0SOCLEAD1")
		return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: fmt.Sprintf("rb-%d", len(c.started))},
			Type:      &commonpb.WorkflowType{Name: workflows.RollbackWorkflow}, Status: st, Memo: memo,
			StartTime:        timestamppb.New(start),
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"RolledBackBy": by}},
		}}, nil
	}
	if id != "w1" {
		return nil, serviceerror.NewNotFound("no such run")
	}
	if runID == "" {
		runID = c.current
	}
	run, ok := c.runs[runID]
	if !ok {
		return nil, serviceerror.NewNotFound("no such run")
	}
	p, _ := converter.GetDefaultDataConverter().ToPayload("holding")
	pb, _ := converter.GetDefaultDataConverter().ToPayload("reopen")
	info := &workflowpb.WorkflowExecutionInfo{
		Execution:        &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
		Type:             &commonpb.WorkflowType{Name: workflows.PlaybookWorkflow},
		Status:           c.runStatus(runID),
		StartTime:        timestamppb.New(run.start),
		FirstRunId:       "r-a",
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"RunStatus": p, "PlaybookName": pb}},
	}
	if _, ok := c.ended[runID]; ok && info.Status != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
		info.CloseTime = timestamppb.New(run.start.Add(time.Hour))
	} else if info.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		info.CloseTime = timestamppb.New(continuedStart.Add(30 * time.Minute))
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info}, nil
}

// ListWorkflow lists the rollback runs started (visibility: a run's
// earlier rollbacks), each with its memo, stopped if terminated.
func (c *continuedClient) ListWorkflow(_ context.Context, r *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	var out []*workflowpb.WorkflowExecutionInfo
	for i, o := range c.started {
		memo := &commonpb.Memo{Fields: map[string]*commonpb.Payload{}}
		for k, v := range o.Memo {
			memo.Fields[k], _ = converter.GetDefaultDataConverter().ToPayload(v)
		}
		st := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		if i < len(c.terminated) {
			st = enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED
		}
		out = append(out, &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: o.ID, RunId: fmt.Sprintf("rb-%d", i+1)},
			Type:      &commonpb.WorkflowType{Name: workflows.RollbackWorkflow}, Status: st, Memo: memo,
			StartTime: timestamppb.New(continuedStart.Add(40 * time.Minute))})
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: out}, nil
}

func (c *continuedClient) QueryWorkflow(_ context.Context, _, runID, name string, _ ...any) (converter.EncodedValue, error) {
	run := c.runs[runID]
	switch name {
	case workflows.QuerySteps:
		return jsonValue{run.steps}, nil
	case workflows.QueryHolds:
		return jsonValue{run.holds}, nil
	case workflows.QueryFinding:
		return jsonValue{workflows.LiveFinding{Withdrawn: run.wd}}, nil
	}
	return nil, serviceerror.NewInvalidArgument("unknown query " + name)
}

func (c *continuedClient) GetWorkflowHistory(_ context.Context, id, runID string, _ bool, filter enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	if id == "rollback:w1" {
		if filter != enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT && len(c.inputs) > 0 {
			// The latest rollback run, stopped before it began: its
			// start event only.
			p, _ := converter.GetDefaultDataConverter().ToPayload(c.inputs[len(c.inputs)-1])
			return &sliceHistory{events: []*historypb.HistoryEvent{{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
				Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
					WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: &commonpb.Payloads{Payloads: []*commonpb.Payload{p}}}}}}}
		}
		if filter != enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT || len(c.reasons) == 0 {
			return &sliceHistory{}
		}
		return &sliceHistory{events: []*historypb.HistoryEvent{{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
			Attributes: &historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes{
				WorkflowExecutionTerminatedEventAttributes: &historypb.WorkflowExecutionTerminatedEventAttributes{Reason: c.reasons[len(c.reasons)-1], Identity: "riposte-api"}}}}}
	}
	if filter == enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT {
		if runID == "r-a" && c.continued {
			return &sliceHistory{events: []*historypb.HistoryEvent{{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
				Attributes: &historypb.HistoryEvent_WorkflowExecutionContinuedAsNewEventAttributes{
					WorkflowExecutionContinuedAsNewEventAttributes: &historypb.WorkflowExecutionContinuedAsNewEventAttributes{NewExecutionRunId: "r-b"}}}}}
		}
		return &sliceHistory{}
	}
	from := ""
	if runID == "r-b" {
		from = "r-a"
	}
	return &sliceHistory{events: []*historypb.HistoryEvent{{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
			WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{ContinuedExecutionRunId: from}}}}}
}

func (c *continuedClient) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	if c.alreadyStarted {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", fmt.Sprintf("rb-%d", len(c.started)))
	}
	c.started = append(c.started, o)
	if in, ok := args[0].(workflows.RollbackInput); ok {
		c.inputs = append(c.inputs, in)
	}
	return fakeRun{id: o.ID, runID: fmt.Sprintf("rb-%d", len(c.started))}, nil
}

func (c *continuedClient) SignalWorkflow(_ context.Context, id, runID, name string, _ any) error {
	if name != workflows.SignalRolledBack {
		return nil
	}
	if c.continueOnSignal && runID == "r-a" {
		c.continued, c.current = true, "r-b"
	}
	if c.runStatus(runID) != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	if c.signalErr != nil {
		return c.signalErr
	}
	c.marks = append(c.marks, runID)
	return nil
}

func (c *continuedClient) TerminateWorkflow(_ context.Context, id, runID, reason string, _ ...any) error {
	time.Sleep(c.terminateTakes)
	c.reasons = append(c.reasons, reason)
	c.terminated = append(c.terminated, id+"/"+runID)
	return nil
}

// README, Reopened findings: a rollback of the run that continues a
// withdrawn one undoes the run's own containment and leaves the holds it
// inherited to their release. POST /v1/runs/{id}/rollback (riposte
// rollback) listed only what it undoes: an analyst read the answer as
// "containment lifted" while fin-ws-042 stayed isolated for hours. The
// answer lists each inherited hold it leaves in place, with its targets and
// release time (inherited_holds_left); a 409 for a run with nothing of
// its own to undo says so too.
func TestRollbackOfContinuedRunListsInheritedHoldsLeft(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.current, c.continued = "r-b", true
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if got.code != http.StatusAccepted {
		t.Fatalf("status %d: %s", got.code, got.body)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(got.body), &body); err != nil {
		t.Fatal(err)
	}
	left, _ := body["inherited_holds_left"].([]any)
	if len(left) != 1 {
		t.Fatalf("inherited_holds_left = %v; want the hold of fin-ws-042 inherited from r-a: %s", body["inherited_holds_left"], got.body)
	}
	h, _ := left[0].(map[string]any)
	targets, _ := h["targets"].([]any)
	tg, _ := targets[0].(map[string]any)
	if h["inherited_from"] != "r-a" || h["until"] != "2026-03-02T13:00:00Z" || len(targets) != 1 || tg["hostname"] != "fin-ws-042" {
		t.Errorf("inherited hold left %v; want fin-ws-042 from r-a, released at 13:00", h)
	}
	if undo, _ := body["undo"].([]any); len(undo) != 1 || !strings.Contains(got.body, "fin-ws-077") {
		t.Errorf("undo %v; want r-b's own isolation of fin-ws-077 only", body["undo"])
	}

	// Nothing of its own to undo: the 409 says what stays held.
	run := c.runs["r-b"]
	run.steps = nil
	run.holds = run.holds[1:]
	c.runs["r-b"] = run
	got = serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if got.code != http.StatusConflict || !strings.Contains(got.body, "fin-ws-042") || !strings.Contains(got.body, "2026-03-02T13:00:00Z") {
		t.Errorf("status %d: %s; want 409 naming the inherited hold of fin-ws-042 (released 13:00) left in place", got.code, got.body)
	}
}

// A rollback asked just before the handover: the API read run r-a (the
// withdrawn run, still running and holding fin-ws-042) and planned for it,
// then r-a continued as r-b (a record reopened its finding) before the
// rolled_back mark reached it. Temporal refused the mark (r-a had ended)
// and the API only logged it: it answered 202, and the rollback undid
// r-a's isolation of fin-ws-042, which r-b had inherited (or taken over)
// and still showed held, released at its time or rolled back by r-b's own
// rollback; nothing said the host was released. The request must not be
// lost so: the answer is a 409 naming the new run and saying to ask
// again, and the rollback started for r-a is stopped before it undoes
// anything (started with a delay, terminated when the mark is refused).
func TestRollbackAskedJustBeforeTheHandoverIsRefused(t *testing.T) {
	srv, toks, logs := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.continueOnSignal = true
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if len(c.inputs) > 0 && (c.inputs[0].RunID != "r-a" || len(c.marks) != 0) {
		t.Fatalf("rollback inputs %+v, marks %v; want one planned for r-a, its mark refused", c.inputs, c.marks)
	}
	if got.code != http.StatusConflict || !strings.Contains(got.body, "r-b") || !strings.Contains(got.body, "riposte rollback w1") ||
		!strings.Contains(got.body, "nothing was undone") || got.header.Get("Content-Type") != problem.ContentType {
		t.Errorf("status %d (%s): %s\nwant a 409 problem naming r-b, saying nothing was undone and to ask again (riposte rollback w1); log:\n%s",
			got.code, got.header.Get("Content-Type"), got.body, logs.String())
	}
	// The rollback planned for r-a must never act: not started, or started
	// with a delay and stopped before that delay ran out.
	if len(c.started) > 0 {
		if c.started[0].StartDelay <= 0 || len(c.terminated) != 1 || c.terminated[0] != "rollback:w1/rb-1" {
			t.Errorf("rollback started with delay %s, terminated %v; want it delayed and terminated (it undoes what r-b holds)", c.started[0].StartDelay, c.terminated)
		}
	}

	// r-b was not rolled back: the stopped rollback was r-a's.
	r := httptest.NewRequest(http.MethodGet, "/v1/runs/w1", nil)
	r.Header.Set("Authorization", "Bearer "+toks["reader"])
	var d RunDetail
	if got := serve(srv.Handler(), r); json.Unmarshal([]byte(got.body), &d) != nil || d.RunID != "r-b" || d.RolledBackBy != "" || d.RollbackRun != "" {
		t.Errorf("GET /v1/runs/w1: run %s, rolled_back_by %q, rollback_run %q; want r-b, not rolled back: %s", d.RunID, d.RolledBackBy, d.RollbackRun, got.body)
	}

	// Asked again, it plans for r-b: its own isolation, and the hold it
	// inherited listed as left in place. The stopped rollback was r-a's.
	c.continueOnSignal = false
	got = serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if got.code != http.StatusAccepted || len(c.marks) != 1 || c.marks[0] != "r-b" || c.inputs[len(c.inputs)-1].RunID != "r-b" {
		t.Errorf("asked again: status %d, marks %v, inputs %+v: %s; want r-b's rollback started and marked", got.code, c.marks, c.inputs, got.body)
	}
}

// GetWorkflow answers for a run Temporal ended (a terminated rollback
// run, a continued run Temporal ended) as the SDK does: no result, a
// message that says terminated, never why (a run's detail is read from
// its queries, answered from its history).
func (c *continuedClient) GetWorkflow(_ context.Context, id, runID string) client.WorkflowRun {
	return terminatedRun{fakeRun: fakeRun{id: id, runID: runID}, err: errors.New("workflow execution error (type: riposte.rollback, workflowID: " + id + ", runID: " + runID + "): terminated")}
}

type terminatedRun struct {
	fakeRun
	err error
}

func (r terminatedRun) Get(context.Context, any) error { return r.err }
