package workflows_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// A for_each list is bounded: one longer than MaxForEachItems (a hostile
// detection listing tens of thousands of hosts) fails the step before any
// call, instead of running calls until the history limit terminates the
// run; the limit itself still runs.
func TestForEachLimit(t *testing.T) {
	for _, n := range []int{workflows.MaxForEachItems, workflows.MaxForEachItems + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			h := newHarness(t)
			seen := h.record(map[string]any{}, "jira.add_comment")
			c := compileYAML(t, `apiVersion: riposte/v1
name: many
version: 1
trigger: {when: "true"}
steps:
  - id: note
    action: jira.add_comment
    for_each: ${{ detection.items }}
    with: {issue: "SEC-1", body: "${{ item }}"}
    on_failure: continue
`)
			items := make([]any, n)
			for k := range items {
				items[k] = fmt.Sprintf("host-%d", k)
			}
			res, err := h.run(c, map[string]any{"items": items})
			if err != nil {
				t.Fatal(err)
			}
			st := stepOf(res, "note")
			switch {
			case n <= workflows.MaxForEachItems && (st.Status != playbook.StatusSucceeded || len(seen.list) != n):
				t.Errorf("%d items: %s, %d calls", n, st.Status, len(seen.list))
			case n > workflows.MaxForEachItems && (st.Status != playbook.StatusFailed || len(seen.list) != 0 || !strings.Contains(st.Error, "more than the 1000")):
				t.Errorf("%d items: %s (%s), %d calls; want failed before any call", n, st.Status, st.Error, len(seen.list))
			}
		})
	}
}
