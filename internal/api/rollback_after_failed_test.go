package api

import (
	"strconv"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/workflows"
)

// A rollback asked again after one that failed plans only what that one
// did not undo (failedRollbackLeft): README, "Undo".
func TestFailedRollbackLeft(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	before, after := t0.Add(-time.Minute), t0.Add(time.Minute)
	call := func(step string, i int) workflows.UndoCall {
		return workflows.UndoCall{Step: step, Index: i, Action: "crowdstrike.contain_host", Undo: "crowdstrike.lift_containment"}
	}
	result := func(c workflows.UndoCall, status string) workflows.UndoResult {
		return workflows.UndoResult{UndoCall: c, Status: status}
	}
	d := &RunDetail{Steps: []workflows.StepResult{
		{ID: "a", EndedAt: &before}, {ID: "b", EndedAt: &before}, {ID: "each", EndedAt: &before},
		{ID: "late", EndedAt: &after}, {ID: "running"},
	}}
	for _, tc := range []struct {
		name string
		undo []workflows.UndoCall
		res  []workflows.UndoResult
		want []string
	}{
		{"undone left out, failed kept", []workflows.UndoCall{call("a", -1), call("b", -1)},
			[]workflows.UndoResult{result(call("a", -1), "succeeded"), result(call("b", -1), "failed")}, []string{"b"}},
		{"for_each items by index", []workflows.UndoCall{call("each", 0), call("each", 1)},
			[]workflows.UndoResult{result(call("each", 0), "failed"), result(call("each", 1), "succeeded")}, []string{"each[0]"}},
		{"not planned by it: an earlier rollback undid it", []workflows.UndoCall{call("a", -1), call("b", -1)},
			[]workflows.UndoResult{result(call("b", -1), "failed")}, []string{"b"}},
		{"contained after it started, or not ended", []workflows.UndoCall{call("late", -1), call("running", -1), call("a", -1)},
			[]workflows.UndoResult{result(call("a", -1), "succeeded")}, []string{"late", "running"}},
		{"another undo of the same step: not planned by it", []workflows.UndoCall{{Step: "a", Index: -1, Undo: "panos.unblock_ip"}},
			[]workflows.UndoResult{result(call("a", -1), "succeeded")}, nil},
		{"nothing left", []workflows.UndoCall{call("a", -1)},
			[]workflows.UndoResult{result(call("a", -1), "succeeded")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, u := range failedRollbackLeft(d, tc.undo, tc.res, t0) {
				id := u.Step
				if u.Index >= 0 {
					id += "[" + strconv.Itoa(u.Index) + "]"
				}
				got = append(got, id)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("left %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("left %v, want %v", got, tc.want)
				}
			}
		})
	}
}
