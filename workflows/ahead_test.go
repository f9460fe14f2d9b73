package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/activity"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// aheadYAML is a playbook whose first step is a ticket (ticket: more of
// its lines, such as a timeout), followed by steps.
func aheadYAML(ticket, steps string) string {
	return "apiVersion: riposte/v1\nname: ahead\nversion: 1\ntrigger:\n  when: \"true\"\nsteps:\n" +
		"  - id: ticket\n    action: jira.create_issue\n" + ticket +
		"    with: {summary: \"Host ${{ detection.device.hostname }}\"}\n" + steps
}

// pageStep is a notification after the ticket: extra adds lines, with
// replaces its params when set.
func pageStep(extra, with string) string {
	if with == "" {
		with = "{summary: s, source: h, severity: critical}"
	}
	return "  - id: notify\n    action: pagerduty.trigger\n    needs: [ticket]\n" + extra + "    with: " + with + "\n"
}

var aheadPlaybook = aheadYAML("", pageStep("", `{summary: "ticket ${{ steps.ticket.output.key }} (${{ steps.ticket.output.n }})", source: h, severity: critical}`))

// aheadRun runs src with fakes of jira.create_issue and pagerduty.trigger
// (failing its first failPage calls) and reports what the local
// activities were and how often each action ran.
type aheadRun struct {
	mu        sync.Mutex
	locals    []string
	calls     map[string]int
	aheadSent bool
}

func runAheadPlaybook(t *testing.T, rev int, src string, failPage int) (*workflows.Result, *aheadRun) {
	t.Helper()
	h := newHarness(t)
	h.rev = rev
	ar := &aheadRun{calls: map[string]int{}}
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		ar.mu.Lock()
		defer ar.mu.Unlock()
		ar.locals = append(ar.locals, info.ActivityType.Name)
	})
	h.action("jira.create_issue", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		ar.mu.Lock()
		defer ar.mu.Unlock()
		ar.calls["jira"]++
		ar.aheadSent = ar.aheadSent || call.Ahead != nil
		return map[string]any{"key": "SEC-1", "n": 3}, nil
	})
	h.action("pagerduty.trigger", func(_ context.Context, call catalog.Call) (map[string]any, error) {
		ar.mu.Lock()
		defer ar.mu.Unlock()
		ar.calls["page"]++
		if ar.calls["page"] <= failPage {
			return nil, errors.New("pagerduty: 503")
		}
		// The same key whether run ahead or on its own.
		key := "default-test-workflow-id/notify"
		if call.Index >= 0 {
			key += fmt.Sprintf("/%d", call.Index)
		}
		if call.StepID != "notify" || call.IdempotencyKey != key {
			return nil, fmt.Errorf("call does not name its step: %+v", call)
		}
		return map[string]any{"dedup_key": "d-" + call.Params["summary"].(string)}, nil
	})
	h.action("core.noop", func(_ context.Context, call catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("crowdstrike.contain_host", func(_ context.Context, call catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	res, err := h.run(compileYAML(t, src), det)
	if err != nil {
		t.Fatal(err)
	}
	return res, ar
}

// From RevRunAhead the ticket's local call runs the notification too: one
// local activity for both, the notification's params rendered from the
// ticket's output as the run decodes it (3, not 3.0), and the same result
// as before.
func TestRunAhead(t *testing.T) {
	for _, tc := range []struct {
		rev    int
		locals string
	}{
		{workflows.RevCheckedActivity, "jira.create_issue,pagerduty.trigger"},
		{workflows.RevRunAhead, "jira.create_issue"},
	} {
		t.Run(fmt.Sprint("rev", tc.rev), func(t *testing.T) {
			res, ar := runAheadPlaybook(t, tc.rev, aheadPlaybook, 0)
			wantStatuses(t, res, map[string]string{"ticket": "succeeded", "notify": "succeeded"})
			if got := strings.Join(ar.locals, ","); got != tc.locals {
				t.Errorf("local activities %s, want %s", got, tc.locals)
			}
			if ar.calls["jira"] != 1 || ar.calls["page"] != 1 {
				t.Errorf("calls %v, want one of each", ar.calls)
			}
			n := stepOf(res, "notify")
			if got := n.Params.(map[string]any)["summary"]; got != "ticket SEC-1 (3)" {
				t.Errorf("notify params %v", n.Params)
			}
			if got := n.Output.(map[string]any)["dedup_key"]; got != "d-ticket SEC-1 (3)" {
				t.Errorf("notify output %v", n.Output)
			}
			tk := stepOf(res, "ticket")
			if _, ok := tk.Output.(map[string]any)[catalog.AheadKey]; ok {
				t.Errorf("the ticket's output keeps the next step's result: %v", tk.Output)
			}
			if n.StartedAt == nil || n.EndedAt == nil || n.StartedAt.After(*n.EndedAt) || tk.EndedAt.After(*n.EndedAt) {
				t.Errorf("times: ticket ended %v, notify %v - %v", tk.EndedAt, n.StartedAt, n.EndedAt)
			}
			// Run ahead, the ticket ended when its own action did, before
			// the notification started (not when the call returned).
			if tc.rev >= workflows.RevRunAhead && tk.EndedAt.After(*n.StartedAt) {
				t.Errorf("ticket ended %v, after the notification started %v", tk.EndedAt, n.StartedAt)
			}
		})
	}
}

// A next step that fails where it was run ahead is called on its own, with
// its own retries; the ticket is not created twice.
func TestRunAheadFailureRunsStepOnItsOwn(t *testing.T) {
	res, ar := runAheadPlaybook(t, workflows.RevRunAhead, aheadPlaybook, 2)
	wantStatuses(t, res, map[string]string{"ticket": "succeeded", "notify": "succeeded"})
	if got := strings.Join(ar.locals, ","); !strings.HasPrefix(got, "jira.create_issue,pagerduty.trigger") {
		t.Errorf("local activities %s: want the ticket's, then the notification's own", got)
	}
	if ar.calls["jira"] != 1 || ar.calls["page"] != 3 {
		t.Errorf("calls %v, want 1 ticket and 3 notifications (1 ahead, 2 on its own)", ar.calls)
	}
}

// Only a step that would start right after the call, and run just so,
// runs ahead.
func TestRunAheadOnlyWhenNothingToDecide(t *testing.T) {
	for _, tc := range []struct {
		name, steps string
		ahead       bool
	}{
		{"next step", pageStep("", ""), true},
		{"no next step", ``, false},
		{"two steps need it", pageStep("", "") + "  - id: other\n    action: core.noop\n    needs: [ticket]\n", false},
		{"the next step needs another", "  - id: first\n    action: core.noop\n" + strings.Replace(pageStep("", ""), "[ticket]", "[ticket, first]", 1), false},
		{"if", pageStep("    if: steps.ticket.output.n > 1\n", ""), false},
		{"approval", pageStep("    approval: auto\n", ""), false},
		{"for_each", pageStep("    for_each: \"${{ [1, 2] }}\"\n", ""), false},
		{"always", pageStep("    always: true\n", ""), false},
		{"contain", "  - id: notify\n    action: crowdstrike.contain_host\n    needs: [ticket]\n    approval: auto\n    with: {hostname: h}\n", false},
		{"core (a read action)", "  - id: notify\n    action: core.noop\n    needs: [ticket]\n", true},
		{"long", pageStep("    timeout: 5m\n", ""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, ar := runAheadPlaybook(t, workflows.RevRunAhead, aheadYAML("", tc.steps), 0)
			if ar.aheadSent != tc.ahead {
				t.Errorf("the ticket's call ran the next step ahead: %v, want %v", ar.aheadSent, tc.ahead)
			}
			for _, s := range res.Steps {
				if s.Status != "succeeded" {
					t.Errorf("step %s %s: %s%s", s.ID, s.Status, s.Error, s.Reason)
				}
			}
		})
	}
}
