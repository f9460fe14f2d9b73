package burst

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/lab"
)

func result(statuses ...string) *Result {
	r := &Result{N: len(statuses), Gated: map[string]int{}, Other: map[string]int{}}
	for i, s := range statuses {
		run := Run{WorkflowID: "wf-" + Host("t", i), Host: Host("t", i)}
		switch s {
		case "contained":
			run.Status = "succeeded"
			r.Contained++
		case "budget", "guardrails_unavailable":
			run.Status, run.Rule = "waiting_approval", s
			r.Gated[s]++
		default:
			run.Status = s
			r.Other[s]++
		}
		r.Runs = append(r.Runs, run)
	}
	return r
}

func contains(hosts ...string) []lab.Call {
	var out []lab.Call
	for _, h := range hosts {
		out = append(out, lab.Call{Vendor: lab.CrowdStrike, Op: "contain", Target: h, Changed: true})
	}
	return out
}

func TestVerify(t *testing.T) {
	h := func(i int) string { return Host("t", i) }
	for _, tc := range []struct {
		name   string
		res    *Result
		budget int
		calls  []lab.Call
		want   []string // substrings of the problems, in any order; none = pass
	}{
		{"large budget, all contained once", result("contained", "contained"), 1000, contains(h(0), h(1)), nil},
		{"budget 1 of 2", result("contained", "budget"), 1, contains(h(0)), nil},
		{"guardrails unavailable", result("contained", "guardrails_unavailable"), 1000, contains(h(0)),
			[]string{"1 of 2 runs gated for guardrails_unavailable", "1 runs contained automatically, want exactly 2"}},
		{"over budget", result("contained", "contained"), 1, contains(h(0), h(1)),
			[]string{"2 runs contained automatically, want exactly 1", "0 runs gated with reason budget, want 1"}},
		{"contained twice on the lab", result("contained"), 1000, contains(h(0), h(0)),
			[]string{"contained 2 times on the lab, want exactly once", "the lab contained 2 burst hosts, runs report 1"}},
		{"gated run's host contained", result("budget"), 0, contains(h(0)),
			[]string{"want none"}},
		{"failed step", result("failed"), 1000, nil, []string{"1 runs ended their contain step failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probs := Verify(tc.res, tc.budget, tc.calls)
			if len(tc.want) == 0 && len(probs) > 0 {
				t.Fatalf("problems: %v", probs)
			}
			all := strings.Join(probs, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems lack %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestOptionsRefuseTooLargeBurst(t *testing.T) {
	for _, n := range []int{0, 1001} {
		o := Options{N: n}
		if err := o.defaults(); err == nil {
			t.Errorf("N=%d accepted", n)
		}
	}
}
