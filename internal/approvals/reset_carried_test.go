package approvals

import (
	"context"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// resetRunClient runs run B under workflow "wf", a reset of run A, whose
// history is given; it records the Updates asked of it (each answered by
// the run's refusal: what the gate does with the vote does not matter).
type resetRunClient struct {
	client.Client
	history *fakeHistory
	// others holds the histories of other runs (runs B was reset from).
	others  map[string]*fakeHistory
	updates []client.UpdateWorkflowOptions
}

func (c *resetRunClient) DescribeWorkflowExecution(_ context.Context, _, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "wf", RunId: "B"}, Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil
}

func (c *resetRunClient) GetWorkflowHistory(_ context.Context, _, runID string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	if runID != "B" {
		if h := c.others[runID]; h != nil {
			return &eventIter{events: h.events}
		}
		return &eventIter{}
	}
	return &eventIter{events: c.history.events}
}

func (c *resetRunClient) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	c.updates = append(c.updates, o)
	return nil, temporal.NewApplicationError("the run's answer", "test")
}

// TestDecisionOnAGateTheResetRunDidNotCarryOn: run B is a Temporal reset of
// run A. B carries on what A did before the reset point, and only that: a
// gate A opened, or a message A posted, after it is not B's. Reset to a
// point before the gate (the Temporal UI's "reset to the first workflow
// task"), B opens the gate again and posts its own request, which may
// name other targets (its steps ran again). A decision the person gave on
// A's gate (the API's run_id A, the CLI's --run-id A, a click on A's
// message, whose buttons name A) must be refused, not delivered to B,
// where it would count as a vote on B's request nobody looked at: the
// API's has no message the run could tell apart, and a click lands while
// B's request is still being posted (the gate takes a click of any
// message then) or after B's post failed. Decisions on a gate and message
// A opened before the reset point go to B (it carries them on).
func TestDecisionOnAGateTheResetRunDidNotCarryOn(t *testing.T) {
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("approvals decision key, 32 byte!")})
	if err != nil {
		t.Fatal(err)
	}
	api := workflows.Decision{GateID: "isolate", Approve: true, User: "UAPPROVER", Via: workflows.ViaAPI, RunID: "A"}
	click := workflows.Decision{GateID: "isolate", Approve: true, User: "UAPPROVER", Via: workflows.ViaSlack, RunID: "A", MessageTS: "1767323045.000200"}
	for _, tc := range []struct {
		name    string
		history func(h *fakeHistory)
		d       workflows.Decision
		carried bool
	}{
		{"reset before the gate, B posted its own; the API's decision", func(h *fakeHistory) {
			h.add(resetRecord(0, "A", "B"))
			h.open("isolate", "CSECOPS", "1767323999.000100")
		}, api, false},
		{"reset before the gate, B posted its own; a click on A's message", func(h *fakeHistory) {
			h.add(resetRecord(0, "A", "B"))
			h.open("isolate", "CSECOPS", "1767323999.000100")
		}, click, false},
		{"reset before the gate, B still posting its own; a click on A's message", func(h *fakeHistory) {
			h.add(resetRecord(0, "A", "B"))
			h.scheduled(workflows.ActivityOpenGate, workflows.GateRequest{WorkflowID: "wf", RunID: "B", GateID: "isolate", StepID: "isolate"})
		}, click, false},
		{"reset after the gate opened, before A's message was posted; a click on A's message", func(h *fakeHistory) {
			id := h.scheduled(workflows.ActivityOpenGate, workflows.GateRequest{WorkflowID: "wf", RunID: "A", GateID: "isolate", StepID: "isolate"})
			h.add(resetRecord(0, "A", "B"))
			h.completed(id, workflows.GateOpened{Channel: "CSECOPS", MessageTS: "1767323999.000100", Posted: true})
		}, click, false},
		{"reset after the gate opened, before A's message was posted; the API's decision", func(h *fakeHistory) {
			h.scheduled(workflows.ActivityOpenGate, workflows.GateRequest{WorkflowID: "wf", RunID: "A", GateID: "isolate", StepID: "isolate"})
			h.add(resetRecord(0, "A", "B"))
		}, api, true},
		{"reset after A's message; the API's decision", func(h *fakeHistory) {
			h.open("isolate", "CSECOPS", "1767323045.000200")
			h.add(resetRecord(0, "A", "B"))
		}, api, true},
		{"reset after A's message; a click on it", func(h *fakeHistory) {
			h.open("isolate", "CSECOPS", "1767323045.000200")
			h.add(resetRecord(0, "A", "B"))
		}, click, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &fakeHistory{t: t}
			tc.history(h)
			c := &resetRunClient{history: h}
			s := &Service{Client: c, Namespace: "default", Keys: keys, SealsRun: func(context.Context) bool { return true }}
			_, err := s.Decide(t.Context(), "wf", tc.d)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("Decide: %v; want a refusal", err)
			}
			switch {
			case tc.carried && (len(c.updates) != 1 || c.updates[0].RunID != "B"):
				t.Errorf("updates %+v; want the decision delivered to B, which carries on the gate", c.updates)
			case !tc.carried && len(c.updates) != 0:
				t.Errorf("the decision on A's gate was delivered to B (%+v), whose gate A's approver never saw", c.updates[0])
			case !tc.carried && !strings.Contains(err.Error(), "reset"):
				t.Errorf("refusal %q does not say the run was reset", err)
			}
		})
	}
}

// TestDecisionOnAGateAResetOfAResetDidNotCarryOn: run X was reset from A to
// before A's gate, and opened the gate again (its own request and
// message); B was reset from X after that. B carries on X's gate, not A's:
// a decision given on A's gate is refused, one on X's goes to B. (B's
// history holds X's request before B's reset point, but after X's.)
func TestDecisionOnAGateAResetOfAResetDidNotCarryOn(t *testing.T) {
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("approvals decision key, 32 byte!")})
	if err != nil {
		t.Fatal(err)
	}
	x := &fakeHistory{t: t}
	x.add(resetRecord(0, "A", "X"))
	x.open("isolate", "CSECOPS", "1767323999.000100")
	b := &fakeHistory{t: t}
	b.add(resetRecord(0, "A", "X"))
	b.open("isolate", "CSECOPS", "1767323999.000100")
	b.add(resetRecord(0, "X", "B"))
	for _, tc := range []struct {
		run, ts string
		carried bool
	}{
		{"A", "", false},
		{"A", "1767323045.000200", false},
		{"X", "", true},
		{"X", "1767323999.000100", true},
	} {
		c := &resetRunClient{history: b, others: map[string]*fakeHistory{"X": x}}
		s := &Service{Client: c, Namespace: "default", Keys: keys, SealsRun: func(context.Context) bool { return true }}
		_, err := s.Decide(t.Context(), "wf", workflows.Decision{GateID: "isolate", Approve: true, User: "UAPPROVER", Via: workflows.ViaAPI, RunID: tc.run, MessageTS: tc.ts})
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("Decide for run %s: %v; want a refusal", tc.run, err)
		}
		if got := len(c.updates) == 1; got != tc.carried {
			t.Errorf("decision for run %s (message %q): delivered to B %v, want %v (%v)", tc.run, tc.ts, got, tc.carried, err)
		}
	}
}
