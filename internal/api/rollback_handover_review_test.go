package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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

	"github.com/riposte-dev/riposte/workflows"
)

// A rollback of the withdrawn run r-a, which still runs (holding
// fin-ws-042), whose rolled_back mark Temporal refuses for another reason
// than a handover (here Unavailable: a frontend restarting). r-a never
// took the mark: it does not know of the rollback, and a record reopening
// its finding may continue it as a new run at any moment, handing over
// the hold the rollback is about to lift. The API only logged the refusal
// and answered 202, leaving the delayed rollback to begin. It must stop
// that rollback (nothing undone yet) and say to ask again.
func TestRollbackOfWithdrawnRunWhoseMarkFailsIsStopped(t *testing.T) {
	srv, toks, logs := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.signalErr = serviceerror.NewUnavailable("frontend is not healthy yet")
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if len(c.started) != 1 || c.started[0].StartDelay <= 0 {
		t.Fatalf("started %d rollbacks (delay %v); want one, delayed", len(c.started), c.started)
	}
	if len(c.terminated) != 1 || c.terminated[0] != "rollback:w1/rb-1" {
		t.Errorf("terminated %v; want rollback:w1/rb-1 stopped (r-a did not take its mark)", c.terminated)
	}
	if got.code != http.StatusServiceUnavailable || !strings.Contains(got.body, "nothing was undone") ||
		!strings.Contains(got.body, "riposte rollback w1") || !strings.Contains(got.body, "frontend is not healthy yet") {
		t.Errorf("status %d: %s\nwant 503 saying nothing was undone, why, and to ask again", got.code, got.body)
	}
	if !strings.Contains(logs.String(), "audit: rollback stopped") || !strings.Contains(logs.String(), "frontend is not healthy yet") {
		t.Errorf("audit log does not say the rollback was stopped and why:\n%s", logs.String())
	}
	// Asked again once Temporal answers: the stopped rollback (terminated,
	// planned for this same run, nothing undone) does not stand in the way.
	c.signalErr = nil
	got = serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if got.code != http.StatusAccepted || len(c.started) != 2 || c.started[1].WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY ||
		len(c.marks) != 1 || c.marks[0] != "r-a" || len(c.inputs[1].Undo) != 1 {
		t.Errorf("asked again: status %d, started %d, marks %v: %s; want a new rollback of r-a (its isolation) started and r-a marked", got.code, len(c.started), c.marks, got.body)
	}
}

// The handover race under load: r-a continued as r-b before the mark,
// and Temporal took longer than the rollback's start delay to answer its
// termination. The API judged "stopped before it began" before it sent
// the termination, and answered "nothing was undone" although the
// rollback may have begun undoing what r-b now holds. Whether the delay
// had run out can only be told once the termination has been answered.
func TestRollbackStoppedAfterItsDelaySaysItMayHaveBegun(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.continueOnSignal = true
	c.terminateTakes = rollbackMarkDelay + 200*time.Millisecond
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if len(c.terminated) != 1 {
		t.Fatalf("terminated %v; want the rollback planned for r-a stopped", c.terminated)
	}
	if got.code != http.StatusConflict || strings.Contains(got.body, "nothing was undone") ||
		!strings.Contains(got.body, "may have begun undoing") || !strings.Contains(got.body, "riposte runs show rollback:w1") {
		t.Errorf("status %d: %s\nwant a 409 saying the stopped rollback may have begun undoing (riposte runs show rollback:w1), not that nothing was undone", got.code, got.body)
	}
}

// listedClient lists run r-b of w1 (which continued r-a, and has ended
// since: it released what it held) and the rollback planned for r-a that
// the API stopped when r-a continued before its mark (memo
// rollback_of_run r-a), started after r-b began.
type listedClient struct {
	client.Client // nil: only ListWorkflow is used
	bothInPage    bool
}

func (c *listedClient) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	dc := converter.GetDefaultDataConverter()
	pl := func(v any) *commonpb.Payload { p, _ := dc.ToPayload(v); return p }
	rbStart := continuedStart.Add(30*time.Minute + 2*time.Second)
	rb := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "rollback:w1", RunId: "rb-1"},
		Type:      &commonpb.WorkflowType{Name: workflows.RollbackWorkflow}, Status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED,
		StartTime: timestamppb.New(rbStart), CloseTime: timestamppb.New(rbStart.Add(time.Second)),
		Memo:             &commonpb.Memo{Fields: map[string]*commonpb.Payload{MemoRequestedBy: pl("U0SOCLEAD1"), "rollback_of": pl("w1"), MemoRollbackOfRun: pl("r-a")}},
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"RolledBackBy": pl("U0SOCLEAD1")}},
	}
	rbRun := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "w1", RunId: "r-b"},
		Type:      &commonpb.WorkflowType{Name: workflows.PlaybookWorkflow}, Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		StartTime: timestamppb.New(continuedStart.Add(30 * time.Minute)), CloseTime: timestamppb.New(continuedStart.Add(5 * time.Hour)),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"PlaybookName": pl("reopen"), "RunStatus": pl("succeeded")}},
	}
	if strings.Contains(req.GetQuery(), workflows.RollbackWorkflow) && strings.Contains(req.GetQuery(), "WorkflowId IN") {
		return &workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{rb}}, nil
	}
	if c.bothInPage {
		return &workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{rb, rbRun}}, nil
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{rbRun}}, nil
}

// GET /v1/runs (riposte runs): the rollback the API stopped because r-a
// continued as r-b before its mark was r-a's, never r-b's. GET
// /v1/runs/w1 read its memo (rollback_of_run) and showed r-b not rolled
// back, but the list marked r-b "rolled back by U0SOCLEAD1, terminated"
// once r-b had ended (its rollback read from rollback:w1, in the page or
// not): the list said r-b's containment had been rolled back when no
// rollback was ever asked of it.
func TestListDoesNotMarkTheNewRunWithTheStoppedRollback(t *testing.T) {
	for _, both := range []bool{false, true} {
		srv, toks, _ := identityServer(t, &fakeStarter{})
		srv.Temporal = &listedClient{bothInPage: both}
		r := httptest.NewRequest(http.MethodGet, "/v1/runs", nil)
		r.Header.Set("Authorization", "Bearer "+toks["reader"])
		got := serve(srv.Handler(), r)
		var body RunsResponse
		if err := json.Unmarshal([]byte(got.body), &body); err != nil {
			t.Fatalf("status %d: %s", got.code, got.body)
		}
		for _, run := range body.Runs {
			if run.RunID == "r-b" && (run.RolledBackBy != "" || run.RollbackStatus != "") {
				t.Errorf("rollback in the page %v: r-b listed rolled back by %q (%s); want not rolled back: the stopped rollback was r-a's", both, run.RolledBackBy, run.RollbackStatus)
			}
		}
	}
}

// The API process died (or the client's request timed out) between the
// start of the rollback planned for r-a, the withdrawn run that still
// runs, and its rolled_back mark: the rollback runs, and r-a never
// learns of it. It keeps showing its hold of fin-ws-042 held, and a
// record reopening its finding continues it as a new run that takes over
// or inherits the hold the rollback lifted. The analyst, who got no
// answer, asks again: the API answered 200 with the rollback that runs
// and still sent no mark. Asked again, the run is marked for that
// rollback (the run takes a mark for a rollback it knows once only).
func TestRollbackAskedAgainMarksTheRunTheLostMarkMissed(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.started = []client.StartWorkflowOptions{{ID: "rollback:w1", StartDelay: rollbackMarkDelay,
		Memo: map[string]any{MemoRequestedBy: "U0SOCLEAD1", "rollback_of": "w1", MemoRollbackOfRun: "r-a"}}}
	c.alreadyStarted = true
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if got.code != http.StatusOK || !strings.Contains(got.body, `"existing": true`) || !strings.Contains(got.body, `"run_id": "rb-1"`) {
		t.Fatalf("status %d: %s; want 200 with the rollback that runs (rb-1)", got.code, got.body)
	}
	if len(c.marks) != 1 || c.marks[0] != "r-a" {
		t.Errorf("marks %v; want r-a marked for the rollback that runs (its first mark was lost)", c.marks)
	}
}

// A rollback of a withdrawn run that still runs and does not continue:
// accepted as before (202, r-a marked), 3 s later, and started with
// mark_first, so that it begins only once r-a took its mark: should this
// process die between the start and the mark, the rollback undoes nothing
// rather than lift what r-a would hand over to a new run.
func TestRollbackOfWithdrawnRunAsksItsMarkFirst(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if got.code != http.StatusAccepted || len(c.marks) != 1 || c.marks[0] != "r-a" || len(c.terminated) != 0 {
		t.Fatalf("status %d, marks %v, terminated %v: %s; want 202, r-a marked, nothing stopped", got.code, c.marks, c.terminated, got.body)
	}
	if len(c.inputs) != 1 || !c.inputs[0].MarkFirst || c.started[0].StartDelay != rollbackMarkDelay {
		t.Errorf("rollback input %+v, delay %v; want mark_first and the start delay", c.inputs, c.started[0].StartDelay)
	}
}

// riposte runs show rollback:w1 after the handover race: the rollback's
// own view said only "terminated" (the SDK's result error), naming neither
// the run it was planned for nor why it was stopped: read beside r-b, it
// looked like r-b's rollback cut short. It names the run it was planned
// for (rollback_of_run) and the reason its termination was given.
func TestStoppedRollbackSaysWhyAndForWhichRun(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.continueOnSignal = true
	srv.Temporal = c
	if got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`)); got.code != http.StatusConflict {
		t.Fatalf("status %d: %s; want 409", got.code, got.body)
	}
	r := httptest.NewRequest(http.MethodGet, "/v1/runs/rollback:w1", nil)
	r.Header.Set("Authorization", "Bearer "+toks["reader"])
	got := serve(srv.Handler(), r)
	var d RunDetail
	if err := json.Unmarshal([]byte(got.body), &d); err != nil {
		t.Fatalf("status %d: %s", got.code, got.body)
	}
	if d.Kind != KindRollback || d.RollbackOfRun != "r-a" || d.Temporal != "terminated" ||
		!strings.Contains(d.Error, "continued as run r-b") || !strings.Contains(d.Error, "ask again") {
		t.Errorf("rollback view: kind %s, rollback_of_run %q, temporal %s, error %q; want the run it was planned for (r-a) and why it was stopped (r-a continued as run r-b: ask again)",
			d.Kind, d.RollbackOfRun, d.Temporal, d.Error)
	}
}
