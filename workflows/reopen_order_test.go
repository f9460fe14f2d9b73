package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
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

// The detector closes the finding (t1), reopens it (t2) and closes it
// again (t3), in that order, while the withdrawn run's ticket step still
// runs (its first attempt failed; the retry comes 3h later): the
// reopening was pending, since the run continues only once nothing it
// started is in flight. The later Close did not cancel it: the run
// continued as a new run and contained again a finding its detector had
// closed. Now the run does not continue, and releases its hold as
// planned.
func TestLaterCloseCancelsAPendingReopening(t *testing.T) {
	const t0 = int64(1763458937000)
	h, _ := outcomeHarness(t, false)
	undo := &undoCalls{}
	h.action("defender.unisolate_machine", undo.fn(map[string]any{}))
	tickets := 0
	h.action("jira.create_issue", func(context.Context, catalog.Call) (map[string]any, error) {
		if tickets++; tickets == 1 {
			return nil, errors.New("jira unavailable")
		}
		return map[string]any{"key": "SEC-1"}, nil
	})
	d := map[string]any{"time": t0, "finding_info": map[string]any{"uid": "f-1"}, "device": map[string]any{"hostname": "fin-ws-042"}}
	for i, u := range []workflows.FindingUpdate{timed(t0+3_600_000, "withdrawn"), timed(t0+2*3_600_000, "active"), timed(t0+3*3_600_000, "withdrawn")} {
		h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(u)) }, time.Duration(i+1)*30*time.Minute)
	}
	c := compileYAML(t, strings.Replace(reopenPlaybook, `    with: {project: SEC, summary: "isolated"}`, `    with: {project: SEC, summary: "isolated"}
    retry: {max_attempts: 2, initial_interval: 3h}`, 1))
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: d, Requester: "USUBMIT", Rev: workflows.LatestRev})
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); errors.As(err, &can) {
		t.Fatal("continued as new for a reopening its detector closed again before the run continued")
	}
	res, err := resultOf(h)
	if err != nil {
		t.Fatal(err)
	}
	if tickets != 2 || len(undo.steps) != 1 || len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil {
		t.Errorf("ticket attempts %d, undo calls %v, holds %+v; want the ticket retried, then the hold released as planned", tickets, undo.steps, res.Holds)
	}
	if res.Withdrawn == nil || res.Withdrawn.RecordTime != t0+3*3_600_000 {
		t.Errorf("withdrawn %+v; want the latest Close's record time", res.Withdrawn)
	}
}
