package workflows

import (
	"testing"

	"go.temporal.io/sdk/workflow"
)

// A run that continues a withdrawn run (continue-as-new for a reopening
// record) keeps that run's FirstRunID: Temporal preserves it along a chain
// of continue-as-new, as along resets. A vote, an extension or a
// rolled_back mark sealed for the withdrawn run (copied from its history)
// must not count in the run that continues it: that run's gates are new
// decisions. Sealed for the run itself, or for the run a reset of it was
// reset from (OriginalRunID), it counts.
func TestSealForTheWithdrawnRunRefusedByTheRunContinuingIt(t *testing.T) {
	r := &run{
		input: &Input{ReopenedFrom: "run-withdrawn"},
		info: &workflow.Info{
			WorkflowExecution: workflow.Execution{ID: "wf", RunID: "run-new"},
			OriginalRunID:     "run-new", FirstRunID: "run-withdrawn", ContinuedExecutionRunID: "run-withdrawn",
		},
	}
	if err := r.sealForThisRun("run-withdrawn"); err == nil {
		t.Errorf("a request sealed for the withdrawn run this run continues was accepted")
	}
	if err := r.sealForThisRun("run-new"); err != nil {
		t.Errorf("a request sealed for this run: %v", err)
	}
	// A reset of the continuing run: its OriginalRunID is the run it was
	// reset from, its FirstRunID still the withdrawn run's.
	r.info.WorkflowExecution.RunID = "run-new-reset"
	if err := r.sealForThisRun("run-new"); err != nil {
		t.Errorf("reset run, a request sealed for the run it was reset from: %v", err)
	}
	if err := r.sealForThisRun("run-withdrawn"); err == nil {
		t.Errorf("reset run, a request sealed for the withdrawn run was accepted")
	}
	// A run started otherwise, reset: the first run of its reset chain is
	// this run.
	r2 := &run{input: &Input{}, info: &workflow.Info{
		WorkflowExecution: workflow.Execution{ID: "wf", RunID: "run-b"}, OriginalRunID: "run-a", FirstRunID: "run-0"}}
	for _, id := range []string{"run-a", "run-b", "run-0"} {
		if err := r2.sealForThisRun(id); err != nil {
			t.Errorf("reset chain, sealed for %s: %v", id, err)
		}
	}
}
