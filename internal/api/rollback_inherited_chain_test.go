package api

import (
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// A chain of reopenings: r-b isolated fin-ws-077 itself (step isolate,
// contain_for) and inherited the isolation of fin-ws-042 from r-a
// (inherited:isolate); withdrawn again and reopened, it continued as r-c,
// handing both over. r-c holds both as inherited:isolate (the prefix is
// not doubled), one target each, and was terminated before either fell
// due. The rollback planned both as inherited:isolate index 0: the same
// call as far as the API tells calls apart (UndoCall.Same) and the same
// idempotency key (rollback:w1/inherited:isolate/0). When the first
// rollback failed to unisolate fin-ws-042 and unisolated fin-ws-077, the
// retry planned both again (lifting fin-ws-077 a second time, after an
// analyst may have isolated it again), and a rollback cut short after
// unisolating one read both as done (undoneInHistory matches a completed
// call by step and index), leaving the other isolated for good. Each
// call of the plan is told apart.
func TestRollbackOfChainTellsInheritedHoldsOfOneStepApart(t *testing.T) {
	closed := continuedStart.Add(3 * time.Hour)
	hold := func(host string) workflows.Hold {
		return workflows.Hold{Step: workflows.InheritedPrefix + "isolate", Undo: "defender.unisolate_machine", Until: continuedStart.Add(5 * time.Hour),
			InheritedFrom: "r-b", Targets: []map[string]any{{"hostname": host}}}
	}
	d := &RunDetail{RunSummary: RunSummary{WorkflowID: "w1", RunID: "r-c", Status: "terminated", Temporal: "terminated",
		StartedAt: continuedStart.Add(2 * time.Hour), ClosedAt: &closed},
		Holds: []workflows.Hold{hold("fin-ws-077"), hold("fin-ws-042")}}
	undo, refusal := rollbackPlan(d, activities.Catalog())
	if refusal != "" || len(undo) != 2 {
		t.Fatalf("plan %+v, refusal %q; want both inherited holds undone", undo, refusal)
	}
	if undo[0].Same(undo[1]) || undo[0].StepID() == undo[1].StepID() && undo[0].Index == undo[1].Index {
		t.Errorf("plan %+v: the two calls are the same call (step %s, index %d): their results and idempotency keys cannot be told apart", undo, undo[0].Step, undo[0].Index)
	}
	// The first rollback unisolated fin-ws-077 and failed on fin-ws-042.
	res := []workflows.UndoResult{{UndoCall: undo[0], Status: playbook.StatusSucceeded}, {UndoCall: undo[1], Status: playbook.StatusFailed, Error: "HTTP 503"}}
	left := failedRollbackLeft(d, undo, res, closed.Add(time.Minute))
	if len(left) != 1 || left[0].Params["hostname"] != "fin-ws-042" {
		t.Errorf("left after the failed rollback %+v; want fin-ws-042 only (fin-ws-077 was unisolated)", left)
	}

	// A call keeps its index when another is left out: had r-c's release
	// of fin-ws-077 failed and a later step unisolated it, the plan of
	// fin-ws-042 is the call the failed rollback's results name.
	failedAt, stepEnd := continuedStart.Add(150*time.Minute), continuedStart.Add(160*time.Minute)
	d.Holds[0].ReleasedAt, d.Holds[0].Error = &failedAt, "[HTTP 503]"
	d.Steps = []workflows.StepResult{{ID: "release_host", Action: "defender.unisolate_machine", Status: playbook.StatusSucceeded,
		Params: map[string]any{"hostname": "fin-ws-077"}, EndedAt: &stepEnd}}
	again, _ := rollbackPlan(d, activities.Catalog())
	if i := len(again) - 1; i < 0 || again[i].Params["hostname"] != "fin-ws-042" || !again[i].Same(undo[1]) {
		t.Errorf("plan %+v; want fin-ws-042 as the call %+v", again, undo[1])
	}
}

// r-c runs, holding two inherited holds of step isolate: fin-ws-077's
// (until later) and fin-ws-042/fin-ws-043's, whose release failed
// (Defender answered 503). A rollback asked while r-c runs plans the
// failed hold only; it unisolated fin-ws-042 and failed on fin-ws-043.
// r-c was then terminated before fin-ws-077 fell due, and the retry plans
// all three. The calls of the failed hold must keep the index the first
// rollback gave them: numbered anew after fin-ws-077's, the retry took
// fin-ws-043's failed result for fin-ws-042 (unisolating it a second time,
// after an analyst may have isolated it again) and found no result for
// fin-ws-043 (left isolated for good: its hold failed before the first
// rollback started, so it is not "since" either).
func TestRollbackOfInheritedHoldKeepsItsNumbersOnceTheRunEnds(t *testing.T) {
	failedAt := continuedStart.Add(150 * time.Minute)
	d := &RunDetail{RunSummary: RunSummary{WorkflowID: "w1", RunID: "r-c", Status: "running", Temporal: "running",
		StartedAt: continuedStart.Add(2 * time.Hour)},
		Holds: []workflows.Hold{
			{Step: workflows.InheritedPrefix + "isolate", Undo: "defender.unisolate_machine", Until: continuedStart.Add(5 * time.Hour),
				InheritedFrom: "r-b", Targets: []map[string]any{{"hostname": "fin-ws-077"}}},
			{Step: workflows.InheritedPrefix + "isolate", Undo: "defender.unisolate_machine", Until: failedAt, ReleasedAt: &failedAt, Error: "[HTTP 503]",
				InheritedFrom: "r-b", Targets: []map[string]any{{"hostname": "fin-ws-042"}, {"hostname": "fin-ws-043"}}},
		}}
	first, refusal := rollbackPlan(d, activities.Catalog())
	if refusal != "" || len(first) != 2 {
		t.Fatalf("plan while the run runs %+v, refusal %q; want the failed hold's two hosts", first, refusal)
	}
	started := continuedStart.Add(160 * time.Minute)
	res := []workflows.UndoResult{{UndoCall: first[0], Status: playbook.StatusSucceeded}, {UndoCall: first[1], Status: playbook.StatusFailed, Error: "HTTP 503"}}

	closed := continuedStart.Add(3 * time.Hour)
	d.Status, d.Temporal, d.ClosedAt = "terminated", "terminated", &closed
	again, refusal := rollbackPlan(d, activities.Catalog())
	if refusal != "" || len(again) != 3 {
		t.Fatalf("plan once the run ended %+v, refusal %q; want the three hosts", again, refusal)
	}
	var hosts []any
	for _, u := range failedRollbackLeft(d, again, res, started) {
		hosts = append(hosts, u.Params["hostname"])
	}
	if len(hosts) != 2 || hosts[0] != "fin-ws-077" || hosts[1] != "fin-ws-043" {
		t.Errorf("left after the failed rollback: %v; want fin-ws-077 (held until the run ended) and fin-ws-043 (its undo failed), not fin-ws-042 (unisolated)", hosts)
	}
}
