package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"
	"testing"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// A finding update that raises the view while the ticket's call runs.
// In the test environment the signal is handled at once, so the step on
// its own (rev 5) is rendered with the raised view. Run ahead (rev 6) it
// was rendered when the call started, with the view of then: the step's
// result says so. (On a real worker a signal reaches the workflow only
// between workflow tasks, after the local calls of the task: the step on
// its own sees the old view too, unless the call outlasts the workflow
// task's heartbeat.)
func TestRunAheadSaysWhenTheViewChangedDuringCall(t *testing.T) {
	src := aheadYAML("", pageStep("", `{summary: "severity ${{ finding.severity }}", source: h, severity: critical}`))
	for _, rev := range []int{workflows.RevCheckedActivity, workflows.RevRunAhead} {
		t.Run(fmt.Sprint("rev", rev), func(t *testing.T) {
			h := newHarness(t)
			h.rev = rev
			var once sync.Once
			up := h.sealFinding(workflows.FindingUpdate{Finding: map[string]any{"state": "active", "severity": "Critical", "confidence": 95.0}})
			h.action("jira.create_issue", func(context.Context, catalog.Call) (map[string]any, error) {
				// The detector raises the finding while the ticket is being created.
				once.Do(func() { h.env.SignalWorkflow(workflows.SignalFinding, up) })
				return map[string]any{"key": "SEC-1"}, nil
			})
			var got string
			h.action("pagerduty.trigger", func(_ context.Context, call catalog.Call) (map[string]any, error) {
				got, _ = call.Params["summary"].(string)
				return map[string]any{}, nil
			})
			c := compileYAML(t, src)
			view := map[string]any{"state": "active", "severity": "Medium", "confidence": 50.0}
			h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, Finding: view, Rev: rev})
			if err := h.env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var res workflows.Result
			if err := h.env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if len(res.FindingChanges) != 1 {
				t.Fatalf("finding changes %+v: the update was not applied", res.FindingChanges)
			}
			n := stepOf(&res, "notify")
			switch {
			case rev < workflows.RevRunAhead && (got != "severity Critical" || n.Reason != ""):
				t.Errorf("on its own: notify sent with %q, reason %q; want the raised view", got, n.Reason)
			case rev >= workflows.RevRunAhead && (got != "severity Medium" || !strings.Contains(n.Reason, "with the finding as it was when that call started")):
				t.Errorf("run ahead: notify sent with %q, reason %q; want the view of the call's start, and a reason saying so", got, n.Reason)
			}
		})
	}
}

// The ticket keeps its own timeout when it runs the next step ahead; a
// ticket that runs out of it must still read "timed_out", as it does on
// its own (rev 5).
func TestRunAheadOwnTimeoutIsATimeout(t *testing.T) {
	src := aheadYAML("    timeout: 1s\n    retry: {max_attempts: 1}\n", pageStep("", ""))
	for _, rev := range []int{workflows.RevCheckedActivity, workflows.RevRunAhead} {
		t.Run(fmt.Sprint("rev", rev), func(t *testing.T) {
			h := newHarness(t)
			h.rev = rev
			h.action("jira.create_issue", func(ctx context.Context, _ catalog.Call) (map[string]any, error) {
				<-ctx.Done() // a vendor that does not answer
				return nil, ctx.Err()
			})
			h.action("pagerduty.trigger", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
			res, _ := h.run(compileYAML(t, src), det)
			if res == nil {
				t.Fatal("no result")
			}
			if tk := stepOf(res, "ticket"); tk.Status != "timed_out" {
				t.Errorf("ticket %s (%s), want timed_out", tk.Status, tk.Error)
			}
		})
	}
}

// A sibling's failure aborts the run while the ticket's call runs: the
// notification is recorded as skipped ("run aborted"), so its action must
// not have run.
func TestRunAheadAbortDuringCall(t *testing.T) {
	src := aheadYAML("    retry: {max_attempts: 1}\n", pageStep("", "")+"  - id: boom\n    action: core.fail\n    retry: {max_attempts: 1}\n    with: {message: boom}\n")
	for _, rev := range []int{workflows.RevCheckedActivity, workflows.RevRunAhead} {
		t.Run(fmt.Sprint("rev", rev), func(t *testing.T) {
			h := newHarness(t)
			h.rev = rev
			h.action("jira.create_issue", func(ctx context.Context, _ catalog.Call) (map[string]any, error) {
				select { // the vendor answers as the cancellation arrives
				case <-ctx.Done():
				case <-time.After(3 * time.Second):
				}
				return map[string]any{"key": "SEC-1"}, nil
			})
			var mu sync.Mutex
			paged := 0
			h.action("pagerduty.trigger", func(context.Context, catalog.Call) (map[string]any, error) {
				mu.Lock()
				defer mu.Unlock()
				paged++
				return map[string]any{}, nil
			})
			h.action("core.fail", func(context.Context, catalog.Call) (map[string]any, error) {
				return nil, temporal.NewNonRetryableApplicationError("boom", "Boom", nil)
			})
			res, _ := h.run(compileYAML(t, src), det)
			time.Sleep(100 * time.Millisecond) // let a call the SDK gave up on finish
			mu.Lock()
			defer mu.Unlock()
			n := stepOf(res, "notify")
			if (n.Status == "succeeded") != (paged == 1) || paged > 1 {
				t.Errorf("notify recorded %s (%s), but pagerduty.trigger ran %d time(s)", n.Status, n.Reason, paged)
			}
		})
	}
}

// A next step without `with` records the params it ran with ({}), as it
// does when it runs on its own.
func TestRunAheadEmptyParams(t *testing.T) {
	src := aheadYAML("", "  - id: notify\n    action: core.noop\n    needs: [ticket]\n")
	for _, rev := range []int{workflows.RevCheckedActivity, workflows.RevRunAhead} {
		t.Run(fmt.Sprint("rev", rev), func(t *testing.T) {
			res, _ := runAheadPlaybook(t, rev, src, 0)
			if p, ok := stepOf(res, "notify").Params.(map[string]any); !ok || p == nil {
				t.Errorf("notify params %#v, want {}", stepOf(res, "notify").Params)
			}
		})
	}
}

// A next step whose action panics (a handler bug) fails on its own; it
// must not turn the ticket, whose action succeeded, into a failure and
// create it again on each retry.
func TestRunAheadPanicDoesNotFailFirstStep(t *testing.T) {
	res, ar := runAheadPlaybookWith(t, workflows.RevRunAhead, aheadPlaybook, func(context.Context, catalog.Call) (map[string]any, error) {
		panic("handler bug")
	})
	if tk := stepOf(res, "ticket"); tk.Status != "succeeded" || ar.calls["jira"] != 1 {
		t.Errorf("ticket %s (%s), created %d time(s); want succeeded, once", tk.Status, tk.Error, ar.calls["jira"])
	}
}

// runAheadPlaybookWith is runAheadPlaybook with page as pagerduty.trigger.
func runAheadPlaybookWith(t *testing.T, rev int, src string, page func(context.Context, catalog.Call) (map[string]any, error)) (*workflows.Result, *aheadRun) {
	t.Helper()
	h := newHarness(t)
	h.rev = rev
	ar := &aheadRun{calls: map[string]int{}}
	h.action("jira.create_issue", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		ar.mu.Lock()
		defer ar.mu.Unlock()
		ar.calls["jira"]++
		return map[string]any{"key": "SEC-1", "n": 3}, nil
	})
	h.action("pagerduty.trigger", page)
	res, _ := h.run(compileYAML(t, src), det)
	if res == nil {
		t.Fatal("no result")
	}
	return res, ar
}

// A next step whose handler overruns its own timeout (ignores its
// context) must not time out the ticket's call, whose action succeeded.
func TestRunAheadOverrunDoesNotFailFirstStep(t *testing.T) {
	src := aheadYAML("    timeout: 1s\n    retry: {max_attempts: 1}\n", pageStep("    timeout: 1s\n", ""))
	res, ar := runAheadPlaybookWith(t, workflows.RevRunAhead, src, func(context.Context, catalog.Call) (map[string]any, error) {
		time.Sleep(2500 * time.Millisecond) // a blocking client without the context
		return map[string]any{}, nil
	})
	if tk := stepOf(res, "ticket"); tk.Status != "succeeded" || ar.calls["jira"] != 1 {
		t.Errorf("ticket %s (%s), created %d time(s); want succeeded, once", tk.Status, tk.Error, ar.calls["jira"])
	}
}
