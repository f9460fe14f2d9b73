package dispatch

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// serverClient keeps every run it started, as the server does with
// WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE within the retention: a second
// start of an id is refused whether the run is running or ended; signals
// reach running runs only.
type serverClient struct {
	mu     sync.Mutex
	inputs map[string]workflows.Input
	ended  map[string]bool
}

func (c *serverClient) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.inputs[o.ID]; ok {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "r1")
	}
	if c.inputs == nil {
		c.inputs, c.ended = map[string]workflows.Input{}, map[string]bool{}
	}
	c.inputs[o.ID] = args[0].(workflows.Input)
	return startedRun{}, nil
}

func (c *serverClient) SignalWorkflow(_ context.Context, id, _, _ string, _ any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.inputs[id]; !ok || c.ended[id] {
		return serviceerror.NewNotFound("workflow not found")
	}
	return nil
}

func (c *serverClient) end(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended[id] = true
}

// closeAndCreate reads examples/credential-dumping.json twice: its Create,
// and the Close of the same finding (status Resolved).
func closeAndCreate(t *testing.T) (create, closed intake.Detection) {
	t.Helper()
	src, err := os.ReadFile("../../examples/credential-dumping.json")
	if err != nil {
		t.Fatal(err)
	}
	read := func() intake.Detection {
		dets, err := intake.Decode(strings.NewReader(string(src)), intake.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return dets[0]
	}
	create, closed = read(), read()
	closed["activity_id"], closed["activity_name"] = 3, "Close"
	closed["status_id"], closed["status"] = 4, "Resolved"
	return create, closed
}

func withdrawnFirstDispatcher(t *testing.T, rev int) (*Dispatcher, *serverClient) {
	t.Helper()
	// The trigger reads the state: a Close is matched as the finding it
	// closes would have been.
	c, diags := playbook.LoadBytes("respond.yaml", []byte(`apiVersion: riposte/v1
name: respond
version: 1
trigger:
  when: finding.state == "active" && finding.severity == "Critical"
steps:
  - id: a
    action: core.noop
`), activities.Catalog())
	if diags != nil {
		t.Fatal(diags)
	}
	cl := &serverClient{}
	d := &Dispatcher{Client: cl, TaskQueue: "q", Rev: func(context.Context) int { return rev }}
	d.SetPlaybooks(playbook.NewSet(c))
	return d, cl
}

// Producers and queues do not keep order: the Close of a finding may
// arrive before its Create. The Close records a run as withdrawn (it runs
// no step), so the late Create is deduplicated instead of containing for a
// closed finding.
func TestCloseBeforeCreateStartsNothingLater(t *testing.T) {
	ctx := context.Background()
	create, closed := closeAndCreate(t)
	d, cl := withdrawnFirstDispatcher(t, workflows.LatestRev)

	out, err := d.Dispatch(ctx, 0, closed, Options{Requester: "intake"})
	if err != nil || out.State != "withdrawn" || len(out.Matched) != 0 || len(out.Recorded) != 1 {
		t.Fatalf("Close first: %+v, %v; want one run recorded as withdrawn and matched: []", out, err)
	}
	wid := out.Recorded[0].WorkflowID
	in := cl.inputs[wid]
	if in.Finding["state"] != "withdrawn" || in.Rev < workflows.RevWithdrawnAtStart || !strings.Contains(out.Reason, "before any record of it started a run") {
		t.Errorf("recorded run's input: state %v, rev %d; reason %q", in.Finding["state"], in.Rev, out.Reason)
	}
	cl.end(wid) // it runs no step and ends

	out, err = d.Dispatch(ctx, 0, create, Options{Requester: "intake"})
	if err != nil || len(out.Matched) != 1 || !out.Matched[0].Deduplicated || out.Matched[0].WorkflowID != wid || len(cl.inputs) != 1 {
		t.Errorf("late Create: %+v, %v (%d runs); want it deduplicated to the withdrawn run", out, err, len(cl.inputs))
	}
}

// The usual order: the Create's run ended, then its Close arrives. Nothing
// new starts.
func TestCloseAfterEndedRunRecordsNothing(t *testing.T) {
	ctx := context.Background()
	create, closed := closeAndCreate(t)
	d, cl := withdrawnFirstDispatcher(t, workflows.LatestRev)
	out, err := d.Dispatch(ctx, 0, create, Options{})
	if err != nil || len(out.Matched) != 1 {
		t.Fatalf("Create: %+v, %v", out, err)
	}
	cl.end(out.Matched[0].WorkflowID)
	out, err = d.Dispatch(ctx, 0, closed, Options{})
	if err != nil || len(out.Recorded) != 0 || len(out.Signalled) != 0 || len(cl.inputs) != 1 || out.Reason != "finding withdrawn (status_id is 4 (Resolved)): nothing started" {
		t.Errorf("Close after the run ended: %+v, %v (%d runs)", out, err, len(cl.inputs))
	}
}

// A Close while the run is running is delivered to it, nothing recorded.
func TestCloseOfRunningRunIsSignalled(t *testing.T) {
	ctx := context.Background()
	create, closed := closeAndCreate(t)
	d, cl := withdrawnFirstDispatcher(t, workflows.LatestRev)
	out, err := d.Dispatch(ctx, 0, create, Options{})
	if err != nil || len(out.Matched) != 1 {
		t.Fatalf("Create: %+v, %v", out, err)
	}
	out, err = d.Dispatch(ctx, 0, closed, Options{})
	if err != nil || len(out.Recorded) != 0 || len(out.Signalled) != 1 || len(cl.inputs) != 1 {
		t.Errorf("Close of a running run: %+v, %v (%d runs)", out, err, len(cl.inputs))
	}
}

// Workers before RevWithdrawnAtStart would run the playbook on a run
// started with the Close: nothing is recorded while one polls.
func TestCloseFirstWithEarlierWorkersStartsNothing(t *testing.T) {
	_, closed := closeAndCreate(t)
	d, cl := withdrawnFirstDispatcher(t, workflows.RevRunAhead)
	out, err := d.Dispatch(context.Background(), 0, closed, Options{})
	if err != nil || len(out.Recorded) != 0 || len(cl.inputs) != 0 {
		t.Errorf("%+v, %v (%d runs); want nothing started", out, err, len(cl.inputs))
	}
}
