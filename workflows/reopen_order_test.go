package workflows_test

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/workflows"
)

// Queues deliver the records of a finding out of order. The detector
// closes the finding (t1), reopens it (t2) and closes it again (t3); the
// last Close reaches the withdrawn run before the reopening record. The
// run ignored the later Close (a record after the withdrawal) and kept
// the first Close's time, so the reopening record, later than that one,
// continued the run as a new run that contained again a finding its
// detector had closed since. The later Close now moves the withdrawal's
// record time: the reopening record older than it reopens nothing, and
// the hold is released as planned.
func TestReopeningRecordOlderThanALaterCloseContinuesNothing(t *testing.T) {
	const t0 = int64(1763458937000)
	h, _ := outcomeHarness(t, false)
	undo := &undoCalls{}
	h.action("defender.unisolate_machine", undo.fn(map[string]any{}))
	d := map[string]any{"time": t0, "finding_info": map[string]any{"uid": "f-1"}, "device": map[string]any{"hostname": "fin-ws-042"}}
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+3_600_000, "withdrawn")))
	}, time.Hour)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+3*3_600_000, "withdrawn")))
	}, 2*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+2*3_600_000, "active")))
	}, 3*time.Hour)
	c := compileYAML(t, reopenPlaybook)
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: d, Requester: "USUBMIT", Rev: workflows.LatestRev})
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); errors.As(err, &can) {
		t.Fatalf("continued as new for a reopening record older than the latest Close")
	}
	res, err := resultOf(h)
	if err != nil {
		t.Fatal(err)
	}
	if len(undo.steps) != 1 {
		t.Errorf("undo calls %v; want the hold released as planned", undo.steps)
	}
	if res.Withdrawn == nil || res.Withdrawn.RecordTime != t0+3*3_600_000 {
		t.Errorf("withdrawn %+v; want the latest Close's record time", res.Withdrawn)
	}
}
