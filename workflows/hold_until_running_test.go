package workflows_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// A rollback marks every hold released while a later gate still waits:
// HoldUntil is cleared then (10m), not at the end of the run (6h), so
// `riposte runs` never shows a release time that is not pending.
func TestHoldUntilClearedByRollbackWhileRunning(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	start := h.env.Now()
	var mu sync.Mutex
	var log []string
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa, ok := args.Get(0).(temporal.SearchAttributes)
		if !ok {
			return
		}
		if sa.Size() == 0 { // an unset (HoldUntil is the only attribute the run unsets alone)
			mu.Lock()
			log = append(log, fmt.Sprintf("%s: <nil>", h.env.Now().Sub(start).Round(time.Minute)))
			mu.Unlock()
		}
		for k, v := range sa.GetUntypedValues() {
			if k.GetName() == "HoldUntil" {
				mu.Lock()
				log = append(log, fmt.Sprintf("%s: %v", h.env.Now().Sub(start).Round(time.Minute), v))
				mu.Unlock()
			}
		}
	}).Return(nil)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalRolledBack, h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x"}))
	}, 10*time.Minute)
	res, err := h.run(compileYAML(t, holdBehindGate), det)
	if err != nil {
		t.Fatal(err)
	}
	if res.RolledBack == nil || res.Holds[0].ReleasedAt == nil {
		t.Fatalf("not rolled back: %+v", res.Holds)
	}
	mu.Lock()
	defer mu.Unlock()
	// Want HoldUntil cleared when the rollback released the only hold (10m),
	// not at the end of the run (6h).
	for _, l := range log {
		if l == "10m0s: <nil>" {
			return
		}
	}
	t.Errorf("HoldUntil upserts %q: not cleared when the rollback released the only hold at 10m", log)
}
