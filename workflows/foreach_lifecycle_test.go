package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
)

const forEachWithdrawn = `apiVersion: riposte/v1
name: fewithdraw
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    for_each: '${{ ["h1", "h2", "h3"] }}'
    concurrency: 1
    with: {hostname: "${{ item }}"}
    approval: auto
    retry: {max_attempts: 2, initial_interval: 1h}
`

// A withdrawal stops the for_each items that have not started: "no further
// contain step starts" holds for items too.
func TestWithdrawalStopsForEachItems(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	var mu sync.Mutex
	var isolated []string
	attempts := 0
	h.action("defender.isolate_machine", func(_ context.Context, c catalog.Call) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		if attempts++; attempts == 1 {
			return nil, fmt.Errorf("503 from the vendor") // h1 retried in 1h
		}
		isolated = append(isolated, fmt.Sprint(c.Params["hostname"]))
		return map[string]any{}, nil
	})
	h.withdrawAfter(30 * time.Minute)
	res, err := h.run(compileYAML(t, forEachWithdrawn), det)
	if err != nil {
		t.Fatal(err)
	}
	if res.Withdrawn == nil {
		t.Fatal("not withdrawn")
	}
	if got := strings.Join(isolated, ","); got != "h1" {
		t.Errorf("isolated %s after the finding was withdrawn at 30m, want h1 only (in flight then)", got)
	}
	st := stepOf(res, "isolate")
	for _, it := range st.Items[1:] {
		if it.Status != "skipped" || !strings.Contains(it.Error, "finding withdrawn") {
			t.Errorf("item %d: %s %q, want skipped as withdrawn", it.Index, it.Status, it.Error)
		}
	}
}

const forEachUndoesHeld = `apiVersion: riposte/v1
name: feundo
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "h1"}
    approval: auto
    contain_for: 4h
  - id: free
    action: defender.unisolate_machine
    needs: [isolate]
    for_each: '${{ ["h1"] }}'
    with: {hostname: "${{ item }}"}
    approval: auto
`

// A for_each step that undoes a held target releases it early, as a single
// step does: the timer does not undo it a second time.
func TestForEachUndoReleasesHoldEarly(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	var mu sync.Mutex
	var undone []string
	h.action("defender.unisolate_machine", func(_ context.Context, c catalog.Call) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		undone = append(undone, fmt.Sprintf("%s:%v", c.StepID, c.Params["hostname"]))
		return map[string]any{}, nil
	})
	start := h.env.Now()
	res, err := h.run(compileYAML(t, forEachUndoesHeld), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil {
		t.Fatalf("holds %+v", res.Holds)
	}
	if rel := res.Holds[0].ReleasedAt.Sub(start); len(undone) != 1 || rel >= time.Hour {
		t.Errorf("unisolate calls %v, hold released after %s: step free already undid h1", undone, rel)
	}
}
