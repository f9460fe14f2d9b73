package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

const forEachCancelled = `apiVersion: riposte/v1
name: fecancel
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    for_each: '${{ ["h1", "h2", "h3"] }}'
    concurrency: 1
    with: {hostname: "${{ item }}"}
    approval: auto
`

// README (revision 8): a containment call in flight when its run is
// cancelled finishes and is recorded; nothing starts after the cancel.
// The items of a for_each contain step not yet started when the operator
// cancels the run (Temporal UI, temporal workflow cancel) are not in
// flight: they are skipped without a call. The first build of revision 8
// ran each on the disconnected context contain calls get, so they started
// after the cancel, one by one, and isolated hosts the operator stopped
// the run to spare. Before revision 8 they failed as cancelled.
func TestCancelledRunStartsNoForEachItem(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.rev = workflows.LatestRev
	var mu sync.Mutex
	var isolated []string
	h.action("defender.isolate_machine", func(_ context.Context, c catalog.Call) (map[string]any, error) {
		host := fmt.Sprint(c.Params["hostname"])
		mu.Lock()
		isolated = append(isolated, host)
		first := len(isolated) == 1
		mu.Unlock()
		if first {
			// h1 is in flight when the operator cancels the run.
			go h.env.CancelWorkflow()
			time.Sleep(300 * time.Millisecond)
		}
		return map[string]any{}, nil
	})
	res, _ := h.run(compileYAML(t, forEachCancelled), det)
	if res == nil {
		t.Fatal("no result")
	}
	mu.Lock()
	got := strings.Join(isolated, ",")
	mu.Unlock()
	st := stepOf(res, "isolate")
	t.Logf("run %s, isolate %s; items %+v", res.Status, st.Status, st.Items)
	if got != "h1" {
		t.Errorf("isolated %s after the run was cancelled while h1's call ran; want h1 only (in flight then)", got)
	}
	if res.Status != workflows.RunCanceled {
		t.Errorf("run %s, want %s", res.Status, workflows.RunCanceled)
	}
	for _, it := range st.Items[1:] {
		if it.Status != "skipped" {
			t.Errorf("item %d: %s %q, want skipped: not started when the run was cancelled", it.Index, it.Status, it.Error)
		}
	}
}

const forEachAborted = `apiVersion: riposte/v1
name: feabort
version: 1
trigger: {when: "true"}
steps:
  - id: boom
    action: core.fail
    with: {message: "vendor said no", retryable: false}
    retry: {max_attempts: 1}
  - id: isolate
    action: defender.isolate_machine
    for_each: '${{ ["h1", "h2", "h3"] }}'
    concurrency: 1
    with: {hostname: "${{ item }}"}
    approval: auto
`

// The same when the run aborts (README: a failed step with on_failure:
// abort "skips the steps not yet started"): boom fails while h1's call
// runs, and h2 and h3, not started then, are skipped.
func TestAbortedRunStartsNoForEachItem(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.rev = workflows.LatestRev
	var mu sync.Mutex
	var isolated []string
	h1 := make(chan struct{})
	aborted := make(chan struct{})
	h.action("core.fail", func(context.Context, catalog.Call) (map[string]any, error) {
		defer close(aborted)
		<-h1
		return nil, temporal.NewNonRetryableApplicationError("vendor said no", "Boom", nil)
	})
	h.action("defender.isolate_machine", func(_ context.Context, c catalog.Call) (map[string]any, error) {
		host := fmt.Sprint(c.Params["hostname"])
		mu.Lock()
		isolated = append(isolated, host)
		first := len(isolated) == 1
		mu.Unlock()
		if first {
			close(h1)
			select {
			case <-aborted:
				time.Sleep(200 * time.Millisecond)
			case <-time.After(5 * time.Second):
				t.Error("the run did not abort while h1's call ran")
			}
		}
		return map[string]any{}, nil
	})
	res, _ := h.run(compileYAML(t, forEachAborted), det)
	if res == nil {
		t.Fatal("no result")
	}
	mu.Lock()
	got := strings.Join(isolated, ",")
	mu.Unlock()
	st := stepOf(res, "isolate")
	t.Logf("run %s, isolate %s; items %+v", res.Status, st.Status, st.Items)
	if got != "h1" {
		t.Errorf("isolated %s after the run aborted while h1's call ran; want h1 only (in flight then)", got)
	}
}
