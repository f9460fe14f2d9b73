package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/workflows"
)

// historyClient keeps each workflow id's runs as the server does: a start
// of an id whose run is running is refused, one whose run ended is refused
// unless the reuse policy allows a duplicate; the already-started error
// names the latest run. GetWorkflow reads a run's result by run id.
//
// A run started with a withdrawn finding ends at once, as the workflow does
// (workflows.RevWithdrawnAtStart): no step, its withdrawal recorded with
// the record's time. Each start is a second after the one before
// (started); DescribeWorkflowExecution tells it, for any run.
type historyClient struct {
	mu      sync.Mutex
	runs    map[string][]string // workflow id → run ids, oldest first
	running map[string]bool     // run id
	results map[string]*workflows.Result
	started map[string]time.Time   // run id
	inputs  map[string]any         // run id → its input (GetWorkflowHistory)
	signals map[string][]signalled // run id → the signals it was sent
	reuse   []enumspb.WorkflowIdReusePolicy
}

func (c *historyClient) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs == nil {
		c.runs, c.running, c.results = map[string][]string{}, map[string]bool{}, map[string]*workflows.Result{}
	}
	c.reuse = append(c.reuse, o.WorkflowIDReusePolicy)
	if runs := c.runs[o.ID]; len(runs) > 0 {
		last := runs[len(runs)-1]
		if c.running[last] || o.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", last)
		}
	}
	id := fmt.Sprintf("run-%d", len(c.running)+1)
	c.runs[o.ID] = append(c.runs[o.ID], id)
	c.running[id] = true
	if c.started == nil {
		c.started = map[string]time.Time{}
	}
	at := time.Date(2026, 12, 6, 12, 0, len(c.running), 0, time.UTC)
	c.started[id] = at
	if c.inputs == nil {
		c.inputs = map[string]any{}
	}
	if len(args) > 0 {
		c.inputs[id] = args[0]
	}
	if in, ok := args[0].(workflows.Input); ok && in.Finding["state"] == finding.StateWithdrawn {
		rt, _ := finding.RecordTime(intake.Detection(in.Detection))
		c.running[id] = false
		c.results[id] = &workflows.Result{Status: workflows.RunSucceeded, Outcome: workflows.OutcomeWithdrawn, StartedAt: at, EndedAt: at,
			Withdrawn: &workflows.Withdrawal{At: at, BeforeStart: true, RecordTime: rt}}
	}
	return namedRun{id: id}, nil
}

func (c *historyClient) DescribeWorkflowExecution(_ context.Context, wid, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.started[runID]
	if !ok || !slices.Contains(c.runs[wid], runID) {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{StartTime: timestamppb.New(at)}}, nil
}

func (c *historyClient) SignalWorkflow(_ context.Context, id, _, name string, arg any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if runs := c.runs[id]; len(runs) > 0 && c.running[runs[len(runs)-1]] {
		if c.signals == nil {
			c.signals = map[string][]signalled{}
		}
		last := runs[len(runs)-1]
		c.signals[last] = append(c.signals[last], signalled{name, arg})
		return nil
	}
	return serviceerror.NewNotFound("workflow not found")
}

func (c *historyClient) GetWorkflow(_ context.Context, _, runID string) client.WorkflowRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	return resultRun{res: c.results[runID], running: c.running[runID]}
}

// end ends the workflow id's latest run with res (nil: it failed).
func (c *historyClient) end(id string, res *workflows.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	runs := c.runs[id]
	last := runs[len(runs)-1]
	c.running[last], c.results[last] = false, res
}

type namedRun struct {
	client.WorkflowRun
	id string
}

func (r namedRun) GetRunID() string { return r.id }

type resultRun struct {
	client.WorkflowRun
	res     *workflows.Result
	running bool
}

func (r resultRun) Get(_ context.Context, v any) error {
	if r.running {
		return errors.New("test: Get on a running run would wait for it to end")
	}
	if r.res == nil {
		// The SDK's answer for a run that failed (or was cancelled,
		// terminated, timed out): a *temporal.WorkflowExecutionError.
		return &temporal.WorkflowExecutionError{}
	}
	*(v.(*workflows.Result)) = *r.res
	return nil
}

// withTimes sets the record's time and, when mod is not 0, its
// finding_info.modified_time.
func withTimes(det intake.Detection, at, mod int64) intake.Detection {
	out := intake.Detection{}
	for k, v := range det {
		out[k] = v
	}
	out["time"] = at
	fi := map[string]any{}
	for k, v := range det["finding_info"].(map[string]any) {
		fi[k] = v
	}
	if mod != 0 {
		fi["modified_time"] = mod
	}
	out["finding_info"] = fi
	return out
}

// An active record later than the record that withdrew the finding's run
// reopens it: a new run under the same workflow id. Nothing else does.
func TestReopenAfterWithdrawal(t *testing.T) {
	const closedAt = int64(1763458937000)
	withdrawn := func(at int64) *workflows.Result {
		return &workflows.Result{Status: workflows.RunSucceeded, Outcome: workflows.OutcomeWithdrawn, Withdrawn: &workflows.Withdrawal{Reason: "status_id is 4 (Resolved)", RecordTime: at}}
	}
	create, _ := closeAndCreate(t)
	for _, tt := range []struct {
		name   string
		ended  *workflows.Result
		record intake.Detection
		reopen bool
	}{
		{"later modified_time", withdrawn(closedAt), withTimes(create, closedAt-60_000, closedAt+60_000), true},
		{"later time", withdrawn(closedAt), withTimes(create, closedAt+1, 0), true},
		{"the Create delivered after its Close", withdrawn(closedAt), withTimes(create, closedAt-60_000, 0), false},
		{"as late as the Close", withdrawn(closedAt), withTimes(create, closedAt, 0), false},
		{"run recorded before withdrawals kept their time", withdrawn(0), withTimes(create, closedAt+60_000, 0), false},
		{"run ended otherwise", &workflows.Result{Status: workflows.RunSucceeded, Outcome: "contained"}, withTimes(create, closedAt+60_000, 0), false},
		{"run failed", nil, withTimes(create, closedAt+60_000, 0), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cl := &historyClient{}
			d, _ := withdrawnFirstDispatcher(t, workflows.LatestRev)
			d.Client = cl
			out, err := d.Dispatch(ctx, 0, withTimes(create, closedAt-60_000, 0), Options{})
			if err != nil || len(out.Matched) != 1 {
				t.Fatalf("Create: %+v, %v", out, err)
			}
			wid, first := out.Matched[0].WorkflowID, out.Matched[0].RunID
			cl.end(wid, tt.ended)

			out, err = d.Dispatch(ctx, 0, tt.record, Options{})
			if err != nil || len(out.Matched) != 1 {
				t.Fatalf("later record: %+v, %v", out, err)
			}
			m := out.Matched[0]
			if !tt.reopen {
				if !m.Deduplicated || m.Reopened || m.RunID != first || len(cl.runs[wid]) != 1 {
					t.Errorf("%+v (%d runs); want deduplicated to %s", m, len(cl.runs[wid]), first)
				}
				return
			}
			if m.Deduplicated || !m.Reopened || m.WorkflowID != wid || m.RunID == first || out.Deduplicated {
				t.Fatalf("%+v; want a new run of %s", m, wid)
			}
			if got := cl.reuse[len(cl.reuse)-1]; got != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
				t.Errorf("reopening start's reuse policy %v", got)
			}
			// A copy of the reopening record: delivered to the new run.
			out, err = d.Dispatch(ctx, 0, tt.record, Options{})
			if err != nil || !out.Matched[0].Deduplicated || out.Matched[0].Reopened || out.Matched[0].RunID != m.RunID || len(out.Signalled) != 1 {
				t.Errorf("copy: %+v, %v; want deduplicated to %s and signalled", out, err, m.RunID)
			}
		})
	}
}

// A first start never allows a duplicate: deduplication within the
// retention stays the rule.
func TestFirstStartRejectsDuplicates(t *testing.T) {
	cl := &historyClient{}
	d, _ := withdrawnFirstDispatcher(t, workflows.LatestRev)
	d.Client = cl
	create, _ := closeAndCreate(t)
	if _, err := d.Dispatch(context.Background(), 0, create, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(cl.reuse) != 1 || cl.reuse[0] != enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE {
		t.Errorf("reuse policies %v", cl.reuse)
	}
}

// A finding whose run ended other than withdrawn (contained, denied,
// failed), then was closed by its producer and reopened, was never started
// again within the retention: the Close reached no run (the ended run
// cannot take a signal) and was recorded nowhere, so the reopening record
// read as a later update of a contained finding and was deduplicated. The
// Close is now recorded under closed:<workflow id> (a run that runs no
// step), and a record later than it, reaching the id once its run has
// ended, starts the response again under the finding's workflow id.
func TestReopenAfterCloseOfAnEndedRun(t *testing.T) {
	const closedAt = int64(1763458937000)
	contained := &workflows.Result{Status: workflows.RunSucceeded, Outcome: "contained"}
	create, closed := closeAndCreate(t)
	ctx := context.Background()
	type step struct {
		name   string
		record intake.Detection
		// end the finding's newest run first (nil result: it failed)
		end                bool
		result             *workflows.Result
		recorded, reopened bool
	}
	closeAt := func(at int64) intake.Detection { return withTimes(closed, at, 0) }
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"contained, closed, reopened", []step{
			{name: "close", record: closeAt(closedAt), end: true, result: contained, recorded: true},
			{name: "a copy of the close", record: closeAt(closedAt)},
			{name: "an update older than the close", record: withTimes(create, closedAt-1, 0)},
			{name: "as late as the close", record: withTimes(create, closedAt, 0)},
			{name: "reopened", record: withTimes(create, closedAt-60_000, closedAt+60_000), reopened: true},
		}},
		{"failed, closed, reopened", []step{
			{name: "close", record: closeAt(closedAt), end: true, recorded: true},
			{name: "reopened", record: withTimes(create, closedAt+1, 0), reopened: true},
		}},
		{"never closed", []step{
			{name: "a later update", record: withTimes(create, closedAt+60_000, 0), end: true, result: contained},
		}},
		{"two cycles", []step{
			{name: "close", record: closeAt(closedAt), end: true, result: contained, recorded: true},
			{name: "reopened", record: withTimes(create, closedAt+10_000, 0), reopened: true},
			// The reopened run contains and ends: the first close is older
			// than it, so a later update does not start a third run.
			{name: "a later update of the reopened run", record: withTimes(create, closedAt+20_000, 0), end: true, result: contained},
			{name: "closed again", record: closeAt(closedAt + 30_000), recorded: true},
			{name: "an older close delivered late", record: closeAt(closedAt + 25_000)},
			{name: "reopened again", record: withTimes(create, closedAt+40_000, 0), reopened: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := &historyClient{}
			d, _ := withdrawnFirstDispatcher(t, workflows.LatestRev)
			d.Client = cl
			out, err := d.Dispatch(ctx, 0, withTimes(create, closedAt-60_000, 0), Options{})
			if err != nil || len(out.Matched) != 1 {
				t.Fatalf("Create: %+v, %v", out, err)
			}
			wid := out.Matched[0].WorkflowID
			for _, st := range tc.steps {
				if st.end {
					res := st.result
					if res != nil {
						r := *res
						r.StartedAt = cl.started[cl.runs[wid][len(cl.runs[wid])-1]]
						res = &r
					}
					cl.end(wid, res)
				}
				runs, closes := len(cl.runs[wid]), len(cl.runs[ClosedPrefix+wid])
				out, err := d.Dispatch(ctx, 0, st.record, Options{})
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				gotRecorded := len(cl.runs[ClosedPrefix+wid]) - closes
				if want := map[bool]int{true: 1}[st.recorded]; gotRecorded != want {
					t.Errorf("%s: %d close(s) recorded, want %d: %+v", st.name, gotRecorded, want, out)
				}
				if st.recorded && (len(out.Recorded) != 1 || out.Recorded[0].WorkflowID != ClosedPrefix+wid || !strings.Contains(out.Reason, "after its run ended")) {
					t.Errorf("%s: recorded %+v, reason %q", st.name, out.Recorded, out.Reason)
				}
				gotRuns := len(cl.runs[wid]) - runs
				if want := map[bool]int{true: 1}[st.reopened]; gotRuns != want {
					t.Errorf("%s: %d run(s) started under %s, want %d: %+v", st.name, gotRuns, wid, want, out)
				}
				if st.reopened && (len(out.Matched) != 1 || !out.Matched[0].Reopened || out.Matched[0].WorkflowID != wid) {
					t.Errorf("%s: %+v; want the response started again under %s", st.name, out.Matched, wid)
				}
			}
		})
	}
}

// The SDK client serves every optional part the dispatcher asks for.
var (
	_ RunGetter = client.Client(nil)
	_ Describer = client.Client(nil)
	_ Signaller = client.Client(nil)
)
