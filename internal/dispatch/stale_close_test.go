package dispatch

import (
	"context"
	"slices"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/workflows"
)

// Producers and queues do not keep order. A Close older than the record
// that started the finding's run (the finding was reopened, or updated as
// active, after it) says nothing about the finding once that run has
// ended: the finding has been active since. It was recorded under
// closed:<id> all the same, and the next ordinary update of the contained
// finding then read as a reopening and started a second containment.
func TestStaleCloseAfterRunEndedStartsNoSecondRun(t *testing.T) {
	const at = int64(1763458937000)
	create, closed := closeAndCreate(t)
	ctx := context.Background()
	cl := &historyClient{}
	d, _ := withdrawnFirstDispatcher(t, workflows.LatestRev)
	d.Client = cl
	// The active record (time at) starts the run; the run contains and ends.
	out, err := d.Dispatch(ctx, 0, withTimes(create, at, 0), Options{})
	if err != nil || len(out.Matched) != 1 || out.Matched[0].Deduplicated {
		t.Fatalf("Create: %+v, %v", out, err)
	}
	wid := out.Matched[0].WorkflowID
	cl.end(wid, &workflows.Result{Status: workflows.RunSucceeded, Outcome: "contained", StartedAt: cl.started[cl.runs[wid][0]]})
	// A Close sent a minute BEFORE that record is delivered late.
	if _, err := d.Dispatch(ctx, 0, withTimes(closed, at-60_000, 0), Options{}); err != nil {
		t.Fatal(err)
	}
	// An ordinary update of the (still active, contained) finding.
	out, err = d.Dispatch(ctx, 0, withTimes(create, at+60_000, 0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cl.runs[wid]); n != 1 {
		t.Errorf("an update of a contained finding, later than a Close that was older than the record that started its run, started the response again: %d runs under %s, want 1 (matched %+v)", n, wid, out.Matched)
	}
	if n := len(cl.runs[ClosedPrefix+wid]); n != 0 {
		t.Errorf("the stale Close was recorded under %s (%d runs)", ClosedPrefix+wid, n)
	}
}

// The same when the record later than the Close reached the run while it
// ran (an update it was sent), not the record that started it.
func TestStaleCloseAfterUpdatedRunEndedStartsNoSecondRun(t *testing.T) {
	const at = int64(1763458937000)
	create, closed := closeAndCreate(t)
	ctx := context.Background()
	cl := &historyClient{}
	d, _ := withdrawnFirstDispatcher(t, workflows.LatestRev)
	d.Client = cl
	out, err := d.Dispatch(ctx, 0, withTimes(create, at-120_000, 0), Options{})
	if err != nil || len(out.Matched) != 1 {
		t.Fatalf("Create: %+v, %v", out, err)
	}
	wid := out.Matched[0].WorkflowID
	// An update (time at) reaches the running run; then it ends contained.
	if out, err := d.Dispatch(ctx, 0, withTimes(create, at, 0), Options{}); err != nil || len(out.Signalled) == 0 {
		t.Fatalf("update: %+v, %v", out, err)
	}
	cl.end(wid, &workflows.Result{Status: workflows.RunSucceeded, Outcome: "contained", StartedAt: cl.started[cl.runs[wid][0]]})
	if _, err := d.Dispatch(ctx, 0, withTimes(closed, at-60_000, 0), Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Dispatch(ctx, 0, withTimes(create, at+60_000, 0), Options{}); err != nil {
		t.Fatal(err)
	}
	if n := len(cl.runs[wid]); n != 1 {
		t.Errorf("a Close older than an update the run had, delivered after it ended, made a later update start the response again: %d runs under %s, want 1", n, wid)
	}
	// A Close later than every record the run had is recorded, and a
	// record later than it starts the response again.
	if _, err := d.Dispatch(ctx, 0, withTimes(closed, at+120_000, 0), Options{}); err != nil {
		t.Fatal(err)
	}
	if n := len(cl.runs[ClosedPrefix+wid]); n != 1 {
		t.Errorf("a Close later than the run's records: %d recorded, want 1", n)
	}
	if out, err := d.Dispatch(ctx, 0, withTimes(create, at+180_000, 0), Options{}); err != nil || len(cl.runs[wid]) != 2 || len(out.Matched) != 1 || !out.Matched[0].Reopened {
		t.Errorf("reopened after a current Close: %d runs, %+v, %v", len(cl.runs[wid]), out, err)
	}
}

type signalled struct {
	name string
	arg  any
}

// GetWorkflowHistory serves a run's started event, with its input, and
// the signals it was sent, as the server does.
func (c *historyClient) GetWorkflowHistory(_ context.Context, wid, runID string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	c.mu.Lock()
	defer c.mu.Unlock()
	if runID == "" && len(c.runs[wid]) > 0 {
		runID = c.runs[wid][len(c.runs[wid])-1] // the newest run
	}
	in, ok := c.inputs[runID]
	if !ok || !slices.Contains(c.runs[wid], runID) {
		return &eventIterator{}
	}
	p, err := converter.GetDefaultDataConverter().ToPayloads(in)
	if err != nil {
		panic(err)
	}
	events := []*historypb.HistoryEvent{{
		EventType:  enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		EventTime:  timestamppb.New(c.started[runID]),
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: p}},
	}}
	for _, s := range c.signals[runID] {
		p, err := converter.GetDefaultDataConverter().ToPayloads(s.arg)
		if err != nil {
			panic(err)
		}
		events = append(events, &historypb.HistoryEvent{
			EventType:  enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
			Attributes: &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{SignalName: s.name, Input: p}},
		})
	}
	return &eventIterator{events: events}
}

type eventIterator struct{ events []*historypb.HistoryEvent }

func (it *eventIterator) HasNext() bool { return len(it.events) > 0 }

func (it *eventIterator) Next() (*historypb.HistoryEvent, error) {
	ev := it.events[0]
	it.events = it.events[1:]
	return ev, nil
}

var _ HistoryReader = client.Client(nil)

// The run recording a close (closed:<id>) ends at its first workflow task;
// until a worker takes that task (workers down or behind, a rollout) it
// runs. Its result was read with Get, which waits for a running run to end
// (up to 10 s per playbook, in the detection request) and then reads as no
// close: the reopening record arriving meanwhile was deduplicated, and the
// finding not responded to. The close is known from the run's start (its
// input is the withdrawn record), ended or not.
func TestReopenWhileCloseRecordStillRuns(t *testing.T) {
	const at = int64(1763458937000)
	create, closed := closeAndCreate(t)
	ctx := context.Background()
	cl := &historyClient{}
	d, _ := withdrawnFirstDispatcher(t, workflows.LatestRev)
	d.Client = cl
	out, err := d.Dispatch(ctx, 0, withTimes(create, at-60_000, 0), Options{})
	if err != nil || len(out.Matched) != 1 {
		t.Fatalf("Create: %+v, %v", out, err)
	}
	wid := out.Matched[0].WorkflowID
	cl.end(wid, &workflows.Result{Status: workflows.RunSucceeded, Outcome: "contained", StartedAt: cl.started[cl.runs[wid][0]]})
	if _, err := d.Dispatch(ctx, 0, withTimes(closed, at, 0), Options{}); err != nil {
		t.Fatal(err)
	}
	if len(cl.runs[ClosedPrefix+wid]) != 1 {
		t.Fatalf("the close was not recorded: %v", cl.runs)
	}
	// No worker has run the close's run yet.
	cl.mu.Lock()
	rid := cl.runs[ClosedPrefix+wid][0]
	cl.running[rid], cl.results[rid] = true, nil
	cl.mu.Unlock()
	out, err = d.Dispatch(ctx, 0, withTimes(create, at+60_000, 0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cl.runs[wid]) != 2 || len(out.Matched) != 1 || !out.Matched[0].Reopened {
		t.Errorf("a record reopening the closed finding while the run recording its close had not yet ended started nothing: %d runs under %s, matched %+v", len(cl.runs[wid]), wid, out.Matched)
	}
}
