package workflows_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/workflows"
)

// A retry's mark that arrives while the run still waits for the outcome of
// the rollback before it (the outcome activity retrying: the server was
// unreachable, the worker that ran it was lost and its heartbeat timed out)
// must not be lost. The API allows the retry as soon as the first rollback
// run has failed; the run learns that only when its activity answers.
// Before the fix the run dropped the retry's mark (r.rolledBack was set and
// not yet Failed), then held both hosts again when the first outcome came
// and lifted them a second time at contain_for — though the retry had
// lifted them already (and an analyst may have isolated a host again
// since), while GET /v1/runs and /v1/holds showed containment in place.
func TestRetryMarkWhileFirstOutcomePendingIsTaken(t *testing.T) {
	first := workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x", RollbackRunID: "r1"}
	retry := workflows.RolledBack{By: "UBOB", RollbackID: "rollback:x", RollbackRunID: "r2"} // at 15m
	res, released, asked := rollbackHarnessFunc(t, []workflows.RolledBack{first, retry}, func(in workflows.RollbackOutcomeInput, at time.Duration) (workflows.RollbackOutcome, error) {
		switch in.RunID {
		case "r1":
			if at < 16*time.Minute {
				return workflows.RollbackOutcome{}, errors.New("the frontend is unreachable")
			}
			return workflows.RollbackOutcome{Error: "2 of 2 undo actions failed", Undo: []workflows.UndoResult{undone("isolate", "b", "failed"), undone("isolate", "a", "failed")}}, nil
		case "r2":
			return workflows.RollbackOutcome{Completed: true, Undo: []workflows.UndoResult{undone("isolate", "b", "succeeded"), undone("isolate", "a", "succeeded")}}, nil
		}
		return workflows.RollbackOutcome{}, errors.New("unknown rollback run " + in.RunID)
	})
	if !slices.Contains(asked, "rollback:x/r2") {
		t.Errorf("rollback outcomes asked: %q: the retry's mark was dropped", asked)
	}
	if len(released) != 0 {
		t.Errorf("the run lifted %v itself, after the retry had undone both hosts", released)
	}
	if res.RolledBack == nil || res.RolledBack.By != "UBOB" || res.RolledBack.Failed != "" {
		t.Errorf("rolled_back %+v: want the retry's, succeeded", res.RolledBack)
	}
	if ext := strings.Join(res.Holds[0].Extensions, " | "); !strings.Contains(ext, "released by rollback rollback:x (UBOB)") {
		t.Errorf("hold notes %q: want the retry's release", ext)
	}
}
