package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

const holdBehindGate = `apiVersion: riposte/v1
name: holdwait
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "h1"}
    approval: auto
    contain_for: 1h
  - id: ticket
    action: core.noop
    needs: [isolate]
    approval: {approvers: {users: [UBOB]}, timeout: 6h, on_timeout: deny}
`

// contain_for is kept on time while a later step still waits: the hold
// behind a gate waiting 6h is released at 1h, not when the gate times out.
func TestHoldReleasedOnTimeWhileLaterGateWaits(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	var releasedAt time.Duration
	calls := 0
	start := h.env.Now()
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
		calls++
		releasedAt = h.env.Now().Sub(start)
		return map[string]any{}, nil
	})
	res, err := h.run(compileYAML(t, holdBehindGate), det)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || releasedAt < time.Hour || releasedAt > time.Hour+time.Minute {
		t.Errorf("undo calls %d, the last %s after start; want one at 1h (contain_for)", calls, releasedAt)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil || res.Holds[0].Error != "" {
		t.Errorf("holds %+v", res.Holds)
	}
	if st := stepOf(res, "ticket"); st.Status != "timed_out" && st.Status != "denied" {
		t.Errorf("ticket %s, want the gate to time out", st.Status)
	}
}

const holdOnly = `apiVersion: riposte/v1
name: holdonly
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "h1"}
    approval: auto
    contain_for: 1h
`

// A run cancelled (Temporal UI, tctl) while it holds, or while a later
// step waits, ends instead of spinning on its cancelled timers (the SDK's
// deadlock detector failed its workflow task for ever): the holds stay in
// place and say so, and a rollback still undoes them.
func TestCancelWhileHoldingEnds(t *testing.T) {
	for name, pb := range map[string]string{"holding": holdOnly, "behind a gate": holdBehindGate} {
		t.Run(name, func(t *testing.T) {
			h, _ := outcomeHarness(t, false)
			undos := 0
			h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) {
				undos++
				return map[string]any{}, nil
			})
			h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, 10*time.Minute)
			res, err := h.run(compileYAML(t, pb), det)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if res.Status != workflows.RunCanceled {
				t.Errorf("a cancelled run ended %q, want %q", res.Status, workflows.RunCanceled)
			}
			if undos != 0 || len(res.Holds) != 1 || res.Holds[0].ReleasedAt != nil ||
				len(res.Holds[0].Extensions) == 0 || !strings.HasPrefix(res.Holds[0].Extensions[0], "not released: the run was cancelled") {
				t.Errorf("undos %d, holds %+v", undos, res.Holds)
			}
			if undo := workflows.UndoCalls(res.Steps, res.Holds, compileCatalog()); len(undo) != 1 {
				t.Errorf("rollback plan %+v, want the isolate undone", undo)
			}
		})
	}
}
