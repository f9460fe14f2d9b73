package system

import (
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// continuedStart is the start event of a run that continues run prev
// (continue-as-new for a record reopening a withdrawn run's finding).
func continuedStart(prev string) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			ContinuedExecutionRunId: prev}}}
}

// A run that continues a withdrawn run (catalog.Call.ContinuedFrom) takes
// over the containment that run applied and nothing undid. What it
// inherited and did not take over it releases itself when the hold falls
// due: its own history holds that release (step inherited:block.release),
// not the withdrawn run's. priorCall read the withdrawn run only: a block
// the run had released, and someone else put back since (an analyst
// blocking the IP while the finding was active again), was the withdrawn
// run's as far as it knew: the step claimed it, to lift it at its
// contain_for or its rollback.
//
// Along a chain (the new run withdrawn and reopened again while it held
// what it inherited, its own block step never run: a gate closed by the
// second withdrawal), the run in between applied nothing: priorCall read
// it alone and took the block for someone else's, so the third run's step
// did not hold it while the inherited hold released it on time, although
// the finding was active again. The run in between continues the one that
// applied it: priorCall reads it too, and what the runs in between
// released of it.
func TestPriorCallOfAContinuedRun(t *testing.T) {
	ip := map[string]any{"ip": "203.0.113.9"}
	applied := map[string]any{"blocked": true}
	runA := called(t, 5, "block", "A", ip, applied)
	cont := func(prev string, evs ...[]*historypb.HistoryEvent) []*historypb.HistoryEvent {
		out := []*historypb.HistoryEvent{continuedStart(prev)}
		for _, e := range evs {
			out = append(out, e...)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		runs map[string][]*historypb.HistoryEvent
		run  string // the call's run; it continues the run before it
		mine bool
	}{
		{"applied by the withdrawn run", map[string][]*historypb.HistoryEvent{"A": runA, "B": cont("A")}, "B", true},
		{"released by the withdrawn run", map[string][]*historypb.HistoryEvent{"A": append(append([]*historypb.HistoryEvent(nil), runA...), called(t, 9, "block.release", "A", ip, nil)...), "B": cont("A")}, "B", false},
		{"inherited and released by this run", map[string][]*historypb.HistoryEvent{"A": runA, "B": cont("A", called(t, 5, "inherited:block.release", "B", ip, nil))}, "B", false},
		{"inherited along a chain", map[string][]*historypb.HistoryEvent{"A": runA, "B": cont("A"), "C": cont("B")}, "C", true},
		{"inherited along a chain, released in between", map[string][]*historypb.HistoryEvent{"A": runA, "B": cont("A", called(t, 5, "inherited:block.release", "B", ip, nil)), "C": cont("B")}, "C", false},
		{"taken over in between, released there", map[string][]*historypb.HistoryEvent{"A": runA, "B": cont("A", called(t, 5, "block", "B", ip, applied), called(t, 9, "block.release", "B", ip, nil)), "C": cont("B")}, "C", false},
		{"never applied along the chain", map[string][]*historypb.HistoryEvent{"A": {}, "B": cont("A"), "C": cont("B")}, "C", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := resetChain{runs: tc.runs, latest: map[string]string{"wid": tc.run}, listed: map[string][]string{"wid": {"C", "B", "A"}}}
			prev := map[string]string{"B": "A", "C": "B"}[tc.run]
			call := catalog.Call{WorkflowID: "wid", RunID: tc.run, ContinuedFrom: prev, StepID: "block", Action: "panos.block_ip", Params: ip}
			mine, err := priorCall(&c, nil)(t.Context(), call)
			if err != nil || mine != tc.mine {
				t.Errorf("priorCall = %v, %v; want %v", mine, err, tc.mine)
			}
		})
	}
}

// Run B inherited A's block of 203.0.113.9; the release of that hold
// failed, and riposte rollback of B, which undoes an inherited hold nothing
// releases any more (B ended, or its release failed), lifted it: the
// rollback's undo call names step inherited:block and run B. An analyst
// blocked the IP again; B, withdrawn and reopened, continued as C, whose
// block step finds the analyst's block. priorCall read the rollbacks for
// run A's own step only (block.rollback naming A): the block was A's as
// far as it knew, and C claimed the analyst's block, to lift it at its
// contain_for or its rollback. A rollback of an inherited hold by a later
// run of the chain undid it as that run's release would have.
func TestPriorCallSeesARollbackOfAnInheritedHold(t *testing.T) {
	ip := map[string]any{"ip": "203.0.113.9"}
	applied := map[string]any{"blocked": true}
	runA := called(t, 5, "block", "A", ip, applied)
	for _, tc := range []struct {
		name     string
		rollback []*historypb.HistoryEvent
		mine     bool
	}{
		{"rolled back as inherited by the run in between", called(t, 5, "inherited:block.rollback", "B", ip, nil), false},
		{"rolled back as inherited by this run", called(t, 5, "inherited:block.rollback", "C", ip, nil), false},
		{"an inherited rollback of another target", called(t, 5, "inherited:block.rollback", "B", map[string]any{"ip": "203.0.113.10"}, nil), true},
		{"an inherited rollback for another workflow's run", called(t, 5, "inherited:block.rollback", "X", ip, nil), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := resetChain{
				runs:   map[string][]*historypb.HistoryEvent{"A": runA, "B": {continuedStart("A")}, "C": {continuedStart("B")}, "RB1": tc.rollback},
				latest: map[string]string{"wid": "C", "rollback:wid": "RB1"},
				listed: map[string][]string{"wid": {"C", "B", "A"}, "rollback:wid": {"RB1"}},
			}
			call := catalog.Call{WorkflowID: "wid", RunID: "C", ContinuedFrom: "B", StepID: "block", Action: "panos.block_ip", Params: ip}
			mine, err := priorCall(&c, nil)(t.Context(), call)
			if err != nil || mine != tc.mine {
				t.Errorf("priorCall = %v, %v; want %v", mine, err, tc.mine)
			}
		})
	}
}
