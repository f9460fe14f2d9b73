package approvals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/workflows"
)

// fakeHistory builds a closed run's history the way the workflow records
// it: OpenGate scheduled/completed, UpdateGate scheduled (and completed or
// not), and the run's end.
type fakeHistory struct {
	t      *testing.T
	events []*historypb.HistoryEvent
}

func (h *fakeHistory) add(e *historypb.HistoryEvent) int64 {
	e.EventId = int64(len(h.events) + 1)
	h.events = append(h.events, e)
	return e.EventId
}

func (h *fakeHistory) payloads(v any) *commonpb.Payloads {
	p, err := converter.GetDefaultDataConverter().ToPayloads(v)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *fakeHistory) scheduled(activity string, in any) int64 {
	return h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
		Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: activity}, TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}, Input: h.payloads(in)}}})
}

func (h *fakeHistory) completed(scheduled int64, out any) {
	var res *commonpb.Payloads
	if out != nil {
		res = h.payloads(out)
	}
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
		Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
			ScheduledEventId: scheduled, Result: res}}})
}

func (h *fakeHistory) open(gate, channel, ts string) {
	req := workflows.GateRequest{WorkflowID: "wf", GateID: gate, StepID: gate, Channel: channel, Quorum: 1}
	id := h.scheduled(workflows.ActivityOpenGate, req)
	h.completed(id, workflows.GateOpened{Approvers: []string{"UAPPROVER"}, Channel: channel, MessageTS: ts, Posted: true})
}

func (h *fakeHistory) terminated(identity string) {
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes{WorkflowExecutionTerminatedEventAttributes: &historypb.WorkflowExecutionTerminatedEventAttributes{
			Reason: "ended", Identity: identity}}})
}

type eventIter struct {
	events []*historypb.HistoryEvent
	i      int
}

func (it *eventIter) HasNext() bool { return it.i < len(it.events) }
func (it *eventIter) Next() (*historypb.HistoryEvent, error) {
	it.i++
	return it.events[it.i-1], nil
}

// fakeClient answers ListWorkflow with one ended run and its history.
type fakeClient struct {
	client.Client
	status  enumspb.WorkflowExecutionStatus
	closed  time.Time
	history *fakeHistory
	// runs is how many ended runs visibility lists (0 = 1), each with
	// the history above.
	runs int
	// approvalState is the runs' ApprovalState search attribute ("" =
	// pending): a query's ApprovalState IN list filters on it, as
	// visibility does.
	approvalState string
	// current is the workflow's current run's history (runID ""): the
	// new run of a reset.
	current *fakeHistory

	// described answers DescribeWorkflowExecution by workflow id (else
	// not found): a run's rollback (rollback:ID).
	described map[string]*workflowpb.WorkflowExecutionInfo
	// resetTo answers DescribeWorkflowExecution of a run named by its
	// id: its ResetRunId (the latest run a reset of it started; "" for a
	// run no reset was made from).
	resetTo map[string]string
	// byRun answers DescribeWorkflowExecution of a run named by its id
	// (with resetTo's ResetRunId).
	byRun map[string]*workflowpb.WorkflowExecutionInfo

	mu      sync.Mutex
	queries []string
	reads   int
}

func (c *fakeClient) ListWorkflow(_ context.Context, r *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	c.mu.Lock()
	c.queries = append(c.queries, r.GetQuery())
	c.mu.Unlock()
	state := c.approvalState
	if state == "" {
		state = workflows.GatePending
	}
	if q := r.GetQuery(); strings.Contains(q, "ApprovalState IN") && !strings.Contains(q, "'"+state+"'") {
		return &workflowservice.ListWorkflowExecutionsResponse{}, nil
	}
	var out []*workflowpb.WorkflowExecutionInfo
	for i := range max(c.runs, 1) {
		out = append(out, &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: fmt.Sprintf("wf-%d", i), RunId: fmt.Sprintf("run-%d", i+1)},
			Status:    c.status, CloseTime: timestamppb.New(c.closed)})
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: out}, nil
}

func (c *fakeClient) DescribeWorkflowExecution(_ context.Context, id, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if info, ok := c.byRun[runID]; ok && runID != "" {
		return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info,
			WorkflowExtendedInfo: &workflowpb.WorkflowExecutionExtendedInfo{ResetRunId: c.resetTo[runID]}}, nil
	}
	if to, ok := c.resetTo[runID]; ok && runID != "" {
		return &workflowservice.DescribeWorkflowExecutionResponse{
			WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
				Status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED},
			WorkflowExtendedInfo: &workflowpb.WorkflowExecutionExtendedInfo{ResetRunId: to}}, nil
	}
	if d, ok := c.described[id]; ok {
		return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: d}, nil
	}
	return nil, serviceerror.NewNotFound("workflow not found: " + id)
}

func (c *fakeClient) GetWorkflowHistory(_ context.Context, _, runID string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	if runID == "" && c.current != nil {
		return &eventIter{events: c.current.events}
	}
	return &eventIter{events: c.history.events}
}

// scriptedCloser fails the messages listed in fail with the error given.
type scriptedCloser struct {
	mu    sync.Mutex
	fail  map[string]error
	calls map[string]int
	gates []EndedGate
}

func (s *scriptedCloser) CloseEndedGate(_ context.Context, g EndedGate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[g.MessageTS]++
	if err := s.fail[g.MessageTS]; err != nil {
		return err
	}
	s.gates = append(s.gates, g)
	return nil
}

// TestEndedRunDeletedMessageDoesNotBlockOthers: a terminated run with two
// approval messages (two gates) whose first message was deleted in Slack
// (chat.update answers message_not_found, a non-retryable error): the
// second message must still be closed, and the deleted one must not be
// asked again every poll for 24 hours (each time re-reading the history).
func TestEndedRunDeletedMessageDoesNotBlockOthers(t *testing.T) {
	h := &fakeHistory{t: t}
	h.open("g1", "CSECOPS", "111.1")
	h.open("g2", "CNETOPS", "222.2")
	h.terminated("operator")
	c := &fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: time.Now().Add(-time.Minute), history: h}
	gone := temporal.NewNonRetryableApplicationError("slack chat.update: message_not_found", "SlackRejected", errors.New("message_not_found"))
	closer := &scriptedCloser{fail: map[string]error{"111.1": gone}}
	w := newEndedWatcher(EndedRunsOptions{Client: c, Closer: closer})
	for i := 0; i < 3; i++ {
		_ = w.poll(t.Context())
	}
	if len(closer.gates) != 1 || closer.gates[0].MessageTS != "222.2" {
		t.Errorf("closed %+v: the second message of the run (222.2) keeps its live buttons because the first could not be updated", closer.gates)
	}
	if n := closer.calls["111.1"]; n != 1 {
		t.Errorf("a deleted message (message_not_found, non-retryable) was asked %d times in 3 polls; it will be asked every 10s for 24h", n)
	}
}

// TestEndedRunUpdateInFlightStillCloses: the gate was decided just before
// the run was terminated; the UpdateGate activity was scheduled but never
// ran (or failed), so the Slack message still shows Approve/Deny. The
// watcher took the scheduled state (approved) as what the message shows
// and left the live buttons in place.
func TestEndedRunUpdateInFlightStillCloses(t *testing.T) {
	h := &fakeHistory{t: t}
	h.open("g1", "CSECOPS", "111.1")
	now := time.Now()
	h.scheduled(workflows.ActivityUpdateGate, workflows.GateUpdate{Channel: "CSECOPS", MessageTS: "111.1",
		Gate: workflows.Gate{ID: "g1", State: workflows.GateApproved, Quorum: 1, ClosedAt: &now,
			Votes: []workflows.Decision{{GateID: "g1", Approve: true, User: "UAPPROVER"}}}})
	h.terminated("operator")
	c := &fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: now, history: h}
	gates, reset, err := EndedRunGates(t.Context(), c, nil, "wf", "run-1")
	if err != nil || reset {
		t.Fatal(err, reset)
	}
	if len(gates) != 1 {
		t.Fatalf("%d messages to close, want 1: the update that would have removed the buttons never completed, so the message still has live Approve/Deny buttons", len(gates))
	}
}

// TestEndedRunTimedOutAndResetSkip: the timed-out path says timed out,
// and a run a reset terminated is left alone.
func TestEndedRunTimedOutAndResetSkip(t *testing.T) {
	h := &fakeHistory{t: t}
	h.open("g1", "CSECOPS", "111.1")
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionTimedOutEventAttributes{WorkflowExecutionTimedOutEventAttributes: &historypb.WorkflowExecutionTimedOutEventAttributes{}}})
	c := &fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, closed: time.Now(), history: h}
	closer := &scriptedCloser{}
	w := newEndedWatcher(EndedRunsOptions{Client: c, Closer: closer})
	if err := w.poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(closer.gates) != 1 || closer.gates[0].Ended != EndedTimedOut {
		t.Errorf("timed out run: closed %+v", closer.gates)
	}

	r := &fakeHistory{t: t}
	r.open("g1", "CSECOPS", "111.1")
	r.terminated("history-resetter")
	c2 := &fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: time.Now(), history: r, resetTo: map[string]string{"run-1": "run-2"}}
	closer2 := &scriptedCloser{}
	w2 := newEndedWatcher(EndedRunsOptions{Client: c2, Closer: closer2})
	if err := w2.poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(closer2.gates) != 0 {
		t.Errorf("reset-terminated run: closed %+v", closer2.gates)
	}
}

// TestEndedRunsRateLimitedWaits: after a mass termination (temporal
// workflow terminate --query), Slack rate limits chat.update and says how
// long to wait (Retry-After). The watcher went on updating every other
// message in the same poll, each one refused again, and asked again 10s
// later whatever Retry-After said: it hammered a rate-limited API.
func TestEndedRunsRateLimitedWaits(t *testing.T) {
	h := &fakeHistory{t: t}
	h.open("g1", "CSECOPS", "111.1")
	h.terminated("operator")
	c := &fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: time.Now().Add(-time.Minute), history: h, runs: 50}
	limited := temporal.NewApplicationErrorWithOptions("slack chat.update: rate limited, retry after 30s", "SlackRateLimited",
		temporal.ApplicationErrorOptions{NextRetryDelay: 30 * time.Second})
	closer := &scriptedCloser{fail: map[string]error{"111.1": limited}}
	w := newEndedWatcher(EndedRunsOptions{Client: c, Closer: closer})
	_ = w.poll(t.Context())
	if n := closer.calls["111.1"]; n != 1 {
		t.Errorf("rate limited (retry after 30s), the watcher still called chat.update %d times in the same poll", n)
	}
	before := closer.calls["111.1"]
	_ = w.poll(t.Context()) // the next poll, well within Retry-After
	if n := closer.calls["111.1"] - before; n != 0 {
		t.Errorf("the next poll, before Retry-After had passed, called chat.update %d more times", n)
	}
	if reads := c.reads; reads > 1 {
		t.Errorf("%d history reads while rate limited; want the runs left for after Retry-After", reads)
	}
}

// TestEndedRunDecidedInFlightIsListed: the run upserts ApprovalState
// (approved, denied) in the same workflow task that schedules the message
// update, so a run terminated while that update was in flight (or after it
// failed) has ApprovalState approved: a query for pending or escalated runs
// never finds it, and its message keeps live Approve/Deny buttons.
func TestEndedRunDecidedInFlightIsListed(t *testing.T) {
	for _, state := range []string{workflows.GateApproved, workflows.GateDenied} {
		h := &fakeHistory{t: t}
		h.open("g1", "CSECOPS", "111.1")
		now := time.Now()
		h.scheduled(workflows.ActivityUpdateGate, workflows.GateUpdate{Channel: "CSECOPS", MessageTS: "111.1",
			Gate: workflows.Gate{ID: "g1", State: state, Quorum: 1, ClosedAt: &now}})
		h.terminated("operator")
		c := &fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: now, history: h, approvalState: state}
		closer := &scriptedCloser{}
		w := newEndedWatcher(EndedRunsOptions{Client: c, Closer: closer})
		if err := w.poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(closer.gates) != 1 {
			t.Errorf("ApprovalState %s, update in flight at the termination: %d messages closed, want 1 (query %q)", state, len(closer.gates), c.queries[0])
		}
	}
}

// TestEndedRunResetBeforeGate: a reset terminates the running run and
// starts a new one from the reset point. When that point is before the
// gate's message was posted, the new run posts a message of its own; the
// old message belongs to no run any more, yet the watcher left it alone
// ("the reset's new run carries the gate and its message on"), with live
// Approve/Deny buttons. A reset after the message was posted keeps it.
func TestEndedRunResetBeforeGate(t *testing.T) {
	old := &fakeHistory{t: t}
	old.open("g1", "CSECOPS", "111.1")
	old.terminated("history-resetter")

	// Reset to before the gate: the new run posted 222.2.
	before := &fakeHistory{t: t}
	before.open("g1", "CSECOPS", "222.2")
	c := &fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: time.Now(), history: old, current: before, resetTo: map[string]string{"run-1": "run-2"}}
	closer := &scriptedCloser{}
	w := newEndedWatcher(EndedRunsOptions{Client: c, Closer: closer})
	if err := w.poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(closer.gates) != 1 || closer.gates[0].MessageTS != "111.1" {
		t.Errorf("reset to before the gate: closed %+v, want the old run's message 111.1 (the new run posted its own)", closer.gates)
	}

	// Reset to after it: the new run's history carries 111.1 on.
	after := &fakeHistory{t: t}
	after.open("g1", "CSECOPS", "111.1")
	c2 := &fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: time.Now(), history: old, current: after, resetTo: map[string]string{"run-1": "run-2"}}
	closer2 := &scriptedCloser{}
	w2 := newEndedWatcher(EndedRunsOptions{Client: c2, Closer: closer2})
	if err := w2.poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(closer2.gates) != 0 {
		t.Errorf("reset to after the gate: closed %+v, want none (the new run carries the message on)", closer2.gates)
	}
}

// TestEndedRunTerminatedByResetOfAnotherRun: a withdrawn run A continued
// as run B (a reopened finding); B opened a gate, whose message showed it
// holding the step's block, and another gate still pending. An operator
// reset the closed run A: Temporal terminated B (identity
// history-resetter) and started run C from A's history, which carries
// none of B's messages or holds. The watcher took B for carried on by the
// reset: the holding message said "the run was reset" with no way to undo
// the block, the pending one that a new request replaces it. B is no
// reset's base (its ResetRunId is empty): its messages are closed as a
// terminated run's, saying a reset of another run ended it, and the
// holding one names the rollback of B (--run-id).
func TestEndedRunTerminatedByResetOfAnotherRun(t *testing.T) {
	now := time.Now()
	b := &fakeHistory{t: t}
	b.open("block", "CSECOPS", "111.1")
	b.open("isolate", "CSECOPS", "222.2")
	id := b.scheduled(workflows.ActivityUpdateGate, workflows.GateUpdate{Channel: "CSECOPS", MessageTS: "111.1",
		Gate: workflows.Gate{ID: "block", State: workflows.GateApproved, Quorum: 1, ClosedAt: &now},
		Run:  &workflows.GateRunState{Status: workflows.RunHolding, Hold: &workflows.Hold{Step: "block", Undo: "panos.unblock_ip", Until: now.Add(time.Hour)}}})
	b.completed(id, nil)
	b.terminated("history-resetter")
	// Run C, reset from A: A's history has none of B's messages.
	c := &fakeHistory{t: t}
	c.open("block", "CSECOPS", "999.9")
	fc := &fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: now, history: b, current: c,
		approvalState: workflows.GatePending, resetTo: map[string]string{"run-1": ""}}
	closer := &scriptedCloser{}
	w := newEndedWatcher(EndedRunsOptions{Client: fc, Closer: closer})
	if err := w.poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := map[string]EndedGate{}
	for _, g := range closer.gates {
		got[g.MessageTS] = g
	}
	for _, ts := range []string{"111.1", "222.2"} {
		g, ok := got[ts]
		if !ok || g.Ended != EndedTerminated || !g.ResetOfAnother || g.RunID != "run-1" {
			t.Errorf("message %s: closed %+v (ok %v); want closed as terminated by a reset of another run", ts, g, ok)
		}
	}
	if g := got["111.1"]; !holdsContainment(g) {
		t.Errorf("holding message: %+v; want it closed as holding, not released", g)
	}
}

// TestEndedRunOfAResetWhoseBaseWasResetAgain: run B was reset from run A
// (its history holds the reset's record: A's history up to the reset
// point, with A's approval request 111.1); the operator reset A again
// (run C), which terminated B. B is no reset's base (its ResetRunId is
// empty), yet C, reset from A too, carries A's request on: it waits on
// 111.1. The watcher took B for terminated by a reset of another run and
// closed 111.1 (its buttons gone) as a terminated run's. A run whose own
// base was reset since is closed as a reset run: what the reset's run
// carries on is left alone.
func TestEndedRunOfAResetWhoseBaseWasResetAgain(t *testing.T) {
	b := &fakeHistory{t: t}
	b.open("isolate", "CSECOPS", "111.1")
	b.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED,
		Attributes: &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
			Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW, BaseRunId: "run-a", NewRunId: "run-1"}}})
	b.terminated("history-resetter")
	c := &fakeHistory{t: t}
	c.open("isolate", "CSECOPS", "111.1")
	fc := &fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: time.Now(), history: b, current: c,
		resetTo: map[string]string{"run-1": "", "run-a": "run-c"}}
	closer := &scriptedCloser{}
	w := newEndedWatcher(EndedRunsOptions{Client: fc, Closer: closer})
	if err := w.poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(closer.gates) != 0 {
		t.Errorf("closed %+v: run C, reset from run A again, waits on 111.1", closer.gates)
	}
}

// TestEndedRunRolledBackByRunIDBeforeTheLatestRunWas: run B, which a
// reset of another run terminated, was rolled back by run_id; then the
// latest run C was rolled back: rollback:ID's latest run (all its
// describe answers) is C's. A restart closing B's messages again took B
// for never rolled back: its message went back to saying the block stays
// in place, naming the rollback that would undo it a second time. B's
// own rollback is the latest run of rollback:ID planned for B.
func TestEndedRunRolledBackByRunIDBeforeTheLatestRunWas(t *testing.T) {
	now := time.Now()
	b := &fakeHistory{t: t}
	b.open("block", "CSECOPS", "111.1")
	id := b.scheduled(workflows.ActivityUpdateGate, workflows.GateUpdate{Channel: "CSECOPS", MessageTS: "111.1",
		Gate: workflows.Gate{ID: "block", State: workflows.GateApproved, Quorum: 1, ClosedAt: &now},
		Run:  &workflows.GateRunState{Status: workflows.RunHolding, Hold: &workflows.Hold{Step: "block", Undo: "panos.unblock_ip", Until: now.Add(time.Hour)}}})
	b.completed(id, nil)
	b.terminated("history-resetter")
	runB := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: "wf-0", RunId: "run-1"},
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, StartTime: timestamppb.New(now.Add(-time.Hour)), CloseTime: timestamppb.New(now)}
	runC := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: "wf-0", RunId: "run-c"},
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, StartTime: timestamppb.New(now)}
	rollbackOf := func(run string, at time.Duration) *workflowpb.WorkflowExecutionInfo {
		p, err := converter.GetDefaultDataConverter().ToPayload(run)
		if err != nil {
			t.Fatal(err)
		}
		return &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: RollbackID("wf-0"), RunId: "rb-" + run},
			Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, StartTime: timestamppb.New(now.Add(at)), CloseTime: timestamppb.New(now.Add(at + time.Minute)),
			Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{"rollback_of_run": p}}}
	}
	ofB, ofC := rollbackOf("run-1", time.Minute), rollbackOf("run-c", 10*time.Minute)
	c := &rollbackClient{fakeClient: fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: now, history: b, approvalState: workflows.GateApproved,
		resetTo: map[string]string{"run-1": ""}, byRun: map[string]*workflowpb.WorkflowExecutionInfo{"run-1": runB, "run-c": runC},
		described: map[string]*workflowpb.WorkflowExecutionInfo{"wf-0": runC, RollbackID("wf-0"): ofC}}, rollback: ofC, runs: []*workflowpb.WorkflowExecutionInfo{ofC, ofB}}
	closer := &scriptedCloser{}
	if err := newEndedWatcher(EndedRunsOptions{Client: c, Closer: closer}).poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(closer.gates) != 1 || closer.gates[0].RolledBack == nil || closer.gates[0].RolledBack.Status != "completed" {
		t.Errorf("a restart wrote %+v; want B's message saying it was rolled back (rb-run-1)", closer.gates)
	}
}

// TestEndedRunHoldingIsListed: a run Temporal ended while it held its
// step's contain_for hold left the closed gate's message saying the hold
// is released at its time unless extended; nothing releases it now. The
// message is listed with the run's state it last sent (also when that
// update was still in flight); one whose run had ended by itself (its
// outcome shown) is not, and one whose final update was in flight while
// the message still showed the hold gets that final state.
func TestEndedRunHoldingIsListed(t *testing.T) {
	now := time.Now()
	approved := workflows.Gate{ID: "g1", State: workflows.GateApproved, Quorum: 1, ClosedAt: &now}
	holding := &workflows.GateRunState{Status: workflows.RunHolding, RunID: "wf",
		Hold: &workflows.Hold{Step: "g1", Undo: "panos.unblock_ip", Until: now.Add(2 * time.Hour)}}
	released := now.Add(time.Minute)
	ended := &workflows.GateRunState{Status: workflows.RunSucceeded, Outcome: "contained", RunID: "wf",
		Hold: &workflows.Hold{Step: "g1", Undo: "panos.unblock_ip", Until: now, ReleasedAt: &released}}
	update := func(h *fakeHistory, run *workflows.GateRunState, done bool) {
		id := h.scheduled(workflows.ActivityUpdateGate, workflows.GateUpdate{Channel: "CSECOPS", MessageTS: "111.1", Gate: approved, Run: run})
		if done {
			h.completed(id, nil)
		}
	}
	for _, tc := range []struct {
		name    string
		updates func(h *fakeHistory)
		want    string // the listed message's run status, "" = not listed
	}{
		{"holding shown", func(h *fakeHistory) { update(h, nil, true); update(h, holding, true) }, workflows.RunHolding},
		{"holding in flight", func(h *fakeHistory) { update(h, nil, true); update(h, holding, false) }, workflows.RunHolding},
		{"outcome shown", func(h *fakeHistory) { update(h, holding, true); update(h, ended, true) }, ""},
		{"outcome in flight", func(h *fakeHistory) { update(h, holding, true); update(h, ended, false) }, workflows.RunSucceeded},
		{"approved only", func(h *fakeHistory) { update(h, nil, true) }, ""},
	} {
		h := &fakeHistory{t: t}
		h.open("g1", "CSECOPS", "111.1")
		tc.updates(h)
		h.terminated("operator")
		c := &fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: now, history: h, approvalState: workflows.GateApproved}
		closer := &scriptedCloser{}
		w := newEndedWatcher(EndedRunsOptions{Client: c, Closer: closer})
		if err := w.poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.want == "" && len(closer.gates) != 0:
			t.Errorf("%s: rewrote %+v", tc.name, closer.gates)
		case tc.want != "" && (len(closer.gates) != 1 || closer.gates[0].Run == nil || closer.gates[0].Run.Status != tc.want ||
			closer.gates[0].Gate.State != workflows.GateApproved || closer.gates[0].Ended != EndedTerminated):
			t.Errorf("%s: rewrote %+v, want the one message with the run %s", tc.name, closer.gates, tc.want)
		}
	}
}

// TestEndedRunRolledBackSince: riposte rollback undoes the containment a
// terminated run's message says stays in place; the message said so ever
// after. A rollback that ended is listed like an ended run: its run's
// holding message is rewritten with the rollback (and only that message),
// and a rewrite of the run (a restart) carries it too.
func TestEndedRunRolledBackSince(t *testing.T) {
	now := time.Now()
	h := &fakeHistory{t: t}
	h.open("g1", "CSECOPS", "111.1")
	h.open("g2", "CSECOPS", "222.2") // still pending: closed by the run's own pass only
	id := h.scheduled(workflows.ActivityUpdateGate, workflows.GateUpdate{Channel: "CSECOPS", MessageTS: "111.1",
		Gate: workflows.Gate{ID: "g1", State: workflows.GateApproved, Quorum: 1, ClosedAt: &now},
		Run:  &workflows.GateRunState{Status: workflows.RunHolding, Hold: &workflows.Hold{Step: "g1", Until: now.Add(time.Hour)}}})
	h.completed(id, nil)
	h.terminated("operator")
	started := now.Add(-time.Hour)
	target := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: "wf-0", RunId: "run-1"},
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, StartTime: timestamppb.New(started), CloseTime: timestamppb.New(now)}
	rb := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: RollbackID("wf-0"), RunId: "rb-1"},
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, StartTime: timestamppb.New(now.Add(time.Minute)), CloseTime: timestamppb.New(now.Add(2 * time.Minute))}
	c := &rollbackClient{fakeClient: fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: now, history: h, approvalState: workflows.GateApproved,
		described: map[string]*workflowpb.WorkflowExecutionInfo{"wf-0": target}}, rollback: rb}
	closer := &scriptedCloser{}
	w := newEndedWatcher(EndedRunsOptions{Client: c, Closer: closer})
	if err := w.poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(closer.gates) != 2 || closer.gates[0].RolledBack != nil {
		t.Fatalf("before the rollback: %+v", closer.gates)
	}
	// riposte rollback wf-0 ran and ended.
	c.described[RollbackID("wf-0")] = rb
	c.listRollback = true
	closer.gates = nil
	if err := w.poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(closer.gates) != 1 || closer.gates[0].MessageTS != "111.1" || closer.gates[0].RolledBack == nil ||
		closer.gates[0].RolledBack.Status != "completed" || closer.gates[0].RolledBack.ID != "rollback:wf-0" {
		t.Fatalf("after the rollback: %+v, want the holding message rewritten with the rollback", closer.gates)
	}
	// Another replica (or a restart) writes the same.
	closer2 := &scriptedCloser{}
	c.listRollback = false
	if err := newEndedWatcher(EndedRunsOptions{Client: c, Closer: closer2}).poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, g := range closer2.gates {
		if g.MessageTS == "111.1" && (g.RolledBack == nil || g.RolledBack.Status != "completed") {
			t.Errorf("a restart rewrote the holding message without its rollback: %+v", g)
		}
	}
}

// TestEndedRunRolledBackByRunID: the holding message of a run a reset
// of another run terminated (run B; the reset's run C is the latest)
// names riposte rollback ID --run-id B. That rollback ended, and the
// watcher read the latest run (C, running) as the run rolled back: B's
// message kept saying the containment stays. It reads the run the
// rollback was planned for (its memo rollback_of_run); and a rollback
// planned for another run (C's) is not B's, also when B's messages are
// closed again (a restart).
func TestEndedRunRolledBackByRunID(t *testing.T) {
	now := time.Now()
	b := &fakeHistory{t: t}
	b.open("block", "CSECOPS", "111.1")
	id := b.scheduled(workflows.ActivityUpdateGate, workflows.GateUpdate{Channel: "CSECOPS", MessageTS: "111.1",
		Gate: workflows.Gate{ID: "block", State: workflows.GateApproved, Quorum: 1, ClosedAt: &now},
		Run:  &workflows.GateRunState{Status: workflows.RunHolding, Hold: &workflows.Hold{Step: "block", Undo: "panos.unblock_ip", Until: now.Add(time.Hour)}}})
	b.completed(id, nil)
	b.terminated("history-resetter")
	runB := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: "wf-0", RunId: "run-1"},
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, StartTime: timestamppb.New(now.Add(-time.Hour)), CloseTime: timestamppb.New(now)}
	runC := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: "wf-0", RunId: "run-c"},
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, StartTime: timestamppb.New(now)}
	rollbackOf := func(run string) *workflowpb.WorkflowExecutionInfo {
		p, err := converter.GetDefaultDataConverter().ToPayload(run)
		if err != nil {
			t.Fatal(err)
		}
		return &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: RollbackID("wf-0"), RunId: "rb-" + run},
			Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, StartTime: timestamppb.New(now.Add(time.Minute)), CloseTime: timestamppb.New(now.Add(2 * time.Minute)),
			Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{"rollback_of_run": p}}}
	}
	for _, tc := range []struct {
		of   string
		want bool
	}{{"run-1", true}, {"run-c", false}} {
		c := &rollbackClient{fakeClient: fakeClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closed: now, history: b, approvalState: workflows.GateApproved,
			resetTo: map[string]string{"run-1": ""}, byRun: map[string]*workflowpb.WorkflowExecutionInfo{"run-1": runB, "run-c": runC},
			described: map[string]*workflowpb.WorkflowExecutionInfo{"wf-0": runC}}, rollback: rollbackOf(tc.of)}
		closer := &scriptedCloser{}
		w := newEndedWatcher(EndedRunsOptions{Client: c, Closer: closer})
		if err := w.poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(closer.gates) != 1 || closer.gates[0].RolledBack != nil || !closer.gates[0].ResetOfAnother {
			t.Fatalf("rollback of %s: before it, closed %+v", tc.of, closer.gates)
		}
		c.described[RollbackID("wf-0")] = c.rollback
		c.listRollback = true
		closer.gates = nil
		if err := w.poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		rewritten := len(closer.gates) == 1 && closer.gates[0].RolledBack != nil && closer.gates[0].RolledBack.Status == "completed"
		if rewritten != tc.want {
			t.Errorf("rollback planned for %s: after it, rewrote %+v; want rolled back %v", tc.of, closer.gates, tc.want)
		}
		// A restart closes B's messages again.
		c.listRollback = false
		closer2 := &scriptedCloser{}
		if err := newEndedWatcher(EndedRunsOptions{Client: c, Closer: closer2}).poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(closer2.gates) != 1 || (closer2.gates[0].RolledBack != nil) != tc.want {
			t.Errorf("rollback planned for %s: a restart wrote %+v; want rolled back %v", tc.of, closer2.gates, tc.want)
		}
	}
}

// rollbackClient lists the rollback run for the rollback query.
type rollbackClient struct {
	fakeClient
	rollback     *workflowpb.WorkflowExecutionInfo
	listRollback bool
	// runs are all the runs of rollback:ID, as visibility lists them by
	// workflow id.
	runs []*workflowpb.WorkflowExecutionInfo
}

func (c *rollbackClient) ListWorkflow(ctx context.Context, r *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	if strings.Contains(r.GetQuery(), "WorkflowId = ") {
		return &workflowservice.ListWorkflowExecutionsResponse{Executions: c.runs}, nil
	}
	if strings.Contains(r.GetQuery(), workflows.RollbackWorkflow) {
		if !c.listRollback {
			return &workflowservice.ListWorkflowExecutionsResponse{}, nil
		}
		return &workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{c.rollback}}, nil
	}
	resp, err := c.fakeClient.ListWorkflow(ctx, r)
	for _, e := range resp.GetExecutions() {
		e.StartTime = timestamppb.New(c.closed.Add(-time.Hour))
	}
	return resp, err
}
