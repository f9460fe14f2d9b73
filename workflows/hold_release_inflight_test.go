package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// A release watchHolds began while the last step is still running goes on
// when the steps end (the steps' context is cancelled then; the watcher's
// is the run's), and the hold is released without error.
func TestReleaseInFlightWhenStepsEnd(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.env.SetTestTimeout(60 * time.Second)
	calls := 0
	h.action("defender.unisolate_machine", func(ctx context.Context, _ catalog.Call) (map[string]any, error) {
		calls++
		time.Sleep(2 * time.Second) // the vendor takes a moment
		return map[string]any{}, nil
	})
	// The gate times out at the same moment the hold falls due.
	src := strings.Replace(holdBehindGate, "timeout: 6h", "timeout: 1h", 1)
	res, err := h.run(compileYAML(t, src), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil || res.Holds[0].Error != "" {
		t.Errorf("holds %+v (undo calls %d): want the hold released without error", res.Holds, calls)
	}
}
