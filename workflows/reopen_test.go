package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// reopenPlaybook isolates the host for 4h; a withdrawal leaves it for
// review (the default), so the run keeps holding it.
const reopenPlaybook = `apiVersion: riposte/v1
name: reopen
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "${{ detection.device.hostname }}"}
    approval: auto
    contain_for: 4h
  - id: ticket
    action: jira.create_issue
    with: {project: SEC, summary: "isolated"}
`

// undoCalls records the undo calls a run makes, with their step ids.
type undoCalls struct {
	mu    sync.Mutex
	steps []string
	calls []catalog.Call
}

func (u *undoCalls) fn(out map[string]any) func(context.Context, catalog.Call) (map[string]any, error) {
	return func(_ context.Context, call catalog.Call) (map[string]any, error) {
		u.mu.Lock()
		defer u.mu.Unlock()
		u.steps = append(u.steps, call.StepID)
		u.calls = append(u.calls, call)
		return out, nil
	}
}

func timed(ms int64, state string) workflows.FindingUpdate {
	u := workflows.FindingUpdate{Detection: map[string]any{"time": ms, "finding_info": map[string]any{"uid": "f-1"}, "device": map[string]any{"hostname": "fin-ws-042"}},
		Finding: map[string]any{"state": state, "severity": "High"}}
	if state == "withdrawn" {
		u.Finding["state_reason"] = "status_id is 4 (Resolved)"
	}
	return u
}

// A record that reopens the finding (active, later than the withdrawing
// record) reaching the withdrawn run while it still held the host was
// ignored: the reopened finding got no response until the hold ended, and
// the hold released the host on time although the finding was active
// again. The run now continues as a new run for the record, handing its
// hold over; it releases nothing. Histories recorded before replay as
// they ran: the record is ignored and the hold released.
func TestReopeningRecordContinuesTheWithdrawnRun(t *testing.T) {
	const t0 = int64(1763458937000)
	for _, tc := range []struct {
		name   string
		legacy bool
		rev    int
	}{
		{"current", false, workflows.LatestRev},
		{"recorded before", true, workflows.LatestRev},
		// Its workers may be of an earlier release: the run continued
		// as would lose the holds.
		{"started before RevReopenContinues", true, workflows.RevReopenContinues - 1},
	} {
		legacy := tc.legacy
		h, _ := outcomeHarness(t, false)
		undo := &undoCalls{}
		h.action("defender.unisolate_machine", undo.fn(map[string]any{}))
		if legacy && tc.rev == workflows.LatestRev {
			h.env.OnGetVersion("reopen-continues", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		d := map[string]any{"time": t0, "finding_info": map[string]any{"uid": "f-1"}, "device": map[string]any{"hostname": "fin-ws-042"}}
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(timed(t0+3_600_000, "withdrawn")))
		}, time.Hour)
		reopening := timed(t0+7_200_000, "active")
		reopening.By = "UREOPENER"
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(workflows.SignalFinding, h.sealFinding(reopening))
		}, 2*time.Hour)
		c := compileYAML(t, reopenPlaybook)
		started := h.env.Now()
		h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: d, Requester: "USUBMIT", Rev: tc.rev})
		if !h.env.IsWorkflowCompleted() {
			t.Fatal("workflow did not complete")
		}
		err := h.env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if legacy {
			if errors.As(err, &can) || len(undo.steps) != 1 {
				t.Errorf("%s: err %v, undo calls %v; want the record ignored and the hold released", tc.name, err, undo.steps)
			}
			continue
		}
		if !errors.As(err, &can) {
			t.Fatalf("err = %v, want the run continued as new", err)
		}
		if len(undo.steps) != 0 {
			t.Errorf("undo calls %v: the handed-over hold must not be released", undo.steps)
		}
		var next workflows.Input
		if err := decodeInput(can, &next); err != nil {
			t.Fatal(err)
		}
		if next.ReopenedFrom == "" || next.Requester != "UREOPENER" || next.Detection["time"] == nil || next.Playbook == nil {
			t.Errorf("next input: reopened_from %q, requester %q, detection %v", next.ReopenedFrom, next.Requester, next.Detection)
		}
		if ms, _ := next.Detection["time"].(float64); int64(ms) != t0+7_200_000 {
			t.Errorf("next detection time %v, want the reopening record's", next.Detection["time"])
		}
		if len(next.Inherited) != 1 {
			t.Fatalf("inherited %+v, want the isolation's hold", next.Inherited)
		}
		ih := next.Inherited[0]
		if ih.Step != "isolate" || ih.Undo != "defender.unisolate_machine" || !ih.Until.Equal(started.Add(4*time.Hour)) ||
			len(ih.Targets) != 1 || ih.Targets[0]["hostname"] != "fin-ws-042" {
			t.Errorf("inherited hold %+v (started %s)", ih, started)
		}
	}
}

// The run that continues a withdrawn one releases each hold it inherited
// when it falls due, unless one of its own contain calls took the target
// over (found it in place and did not find it someone else's: the worker
// read the withdrawn run's history, catalog.Call.ContinuedFrom); then the
// step's own hold releases it at its own contain_for. A rollback's mark
// does not take an inherited hold for released: the rollback did not undo
// it.
func TestContinuedRunReleasesOrTakesOverInheritedHolds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		out      map[string]any
		want     []string // undo calls' step ids
		wantHold string
	}{
		{"found in place, someone else's", map[string]any{"already": true, "preexisting": true}, []string{"inherited:isolate.release"}, "inherited:isolate"},
		{"taken over", map[string]any{"already": true}, []string{"isolate.release"}, "isolate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := outcomeHarness(t, false)
			var contain []catalog.Call
			h.action("defender.isolate_machine", func(_ context.Context, call catalog.Call) (map[string]any, error) {
				contain = append(contain, call)
				return tc.out, nil
			})
			undo := &undoCalls{}
			h.action("defender.unisolate_machine", undo.fn(map[string]any{}))
			c := compileYAML(t, reopenPlaybook)
			in := workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, ReopenedFrom: "run-a",
				Inherited: []workflows.InheritedHold{{Step: "isolate", Undo: "defender.unisolate_machine", Until: h.env.Now().Add(30 * time.Minute),
					Targets: []map[string]any{{"hostname": "fin-ws-042"}}}}}
			h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, in)
			res, err := resultOf(h)
			if err != nil {
				t.Fatal(err)
			}
			if len(contain) != 1 || contain[0].ContinuedFrom != "run-a" {
				t.Errorf("contain calls %+v: want one, continuing run-a", contain)
			}
			if len(undo.steps) != 1 || undo.steps[0] != tc.want[0] {
				t.Errorf("undo calls %v, want %v", undo.steps, tc.want)
			}
			if len(res.Holds) != 1 || res.Holds[0].Step != tc.wantHold || res.Holds[0].ReleasedAt == nil {
				t.Errorf("holds %+v, want %s released", res.Holds, tc.wantHold)
			}
		})
	}
}

// decodeInput reads the input a run continued as new with.
func decodeInput(can *workflow.ContinueAsNewError, in *workflows.Input) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, in)
}
