package pbtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/workflows"
)

// compare checks a run against the case's expectations and returns one
// readable line per mismatch, in the order the expectations are written.
func compare(e *Expect, res *workflows.Result, calls []Call) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if e.Status != "" && e.Status != res.Status {
		add("status: want %q, got %q%s", e.Status, res.Status, context1("error", res.Error))
	}
	if e.Outcome != "" && e.Outcome != res.Outcome {
		add("outcome: want %q, got %q", e.Outcome, workflows.OutcomeText(res.Outcome, res.OutcomeDetail))
	}
	if e.OutcomeDetail != "" && !strings.Contains(res.OutcomeDetail, e.OutcomeDetail) {
		add("outcome_detail: want it to contain %q, got %q", e.OutcomeDetail, res.OutcomeDetail)
	}
	if e.Error != "" && !strings.Contains(res.Error, e.Error) {
		add("error: want it to contain %q, got %q", e.Error, res.Error)
	}
	attempts := map[string]int{}
	itemAttempts := map[string]map[int]int{}
	for _, c := range calls {
		attempts[c.Step]++
		if c.Index >= 0 {
			if itemAttempts[c.Step] == nil {
				itemAttempts[c.Step] = map[int]int{}
			}
			itemAttempts[c.Step][c.Index]++
		}
	}
	for _, se := range e.Steps {
		s, ok := res.Step(se.ID)
		if !ok {
			add("step %s: not in the run's result", se.ID)
			continue
		}
		p := "step " + se.ID + ": "
		if se.Status != "" && se.Status != s.Status {
			add("%sstatus: want %q, got %q%s", p, se.Status, s.Status, stepContext(s))
		}
		if se.Reason != "" && !strings.Contains(s.Reason, se.Reason) {
			add("%sreason: want it to contain %q, got %q", p, se.Reason, s.Reason)
		}
		out = append(out, se.CallExpect.compare(p, s.Error, s.Params, s.Output)...)
		if se.Attempts != nil && *se.Attempts != attempts[se.ID] {
			add("%sattempts: want %d, got %d", p, *se.Attempts, attempts[se.ID])
		}
		if se.Gate != nil {
			for _, m := range compareGate(se.Gate, s.Gate) {
				add("%s%s", p, m)
			}
		}
		if se.HasItems {
			if len(se.Items) != len(s.Items) {
				add("%sitems: want %d, got %d", p, len(se.Items), len(s.Items))
			}
			for i, ie := range se.Items {
				if i >= len(s.Items) {
					break
				}
				it := s.Items[i]
				ip := fmt.Sprintf("%sitems[%d].", p, i)
				if ie.Status != "" && ie.Status != it.Status {
					add("%sstatus: want %q, got %q%s", ip, ie.Status, it.Status, context1("error", it.Error))
				}
				out = append(out, ie.CallExpect.compare(ip, it.Error, it.Params, it.Output)...)
				if ie.Attempts != nil && *ie.Attempts != itemAttempts[se.ID][i] {
					add("%sattempts: want %d, got %d", ip, *ie.Attempts, itemAttempts[se.ID][i])
				}
			}
		}
	}
	if e.HasRan {
		called := map[string]bool{}
		for _, c := range calls {
			called[c.Step] = true
		}
		want := map[string]bool{}
		for _, id := range e.Ran {
			want[id] = true
		}
		var got, missing, extra []string
		for _, s := range res.Steps {
			if called[s.ID] {
				got = append(got, s.ID)
				if !want[s.ID] {
					extra = append(extra, s.ID)
				}
			} else if want[s.ID] {
				missing = append(missing, fmt.Sprintf("%s (%s)", s.ID, s.Status))
			}
		}
		if len(missing) > 0 || len(extra) > 0 {
			var why []string
			if len(missing) > 0 {
				why = append(why, "did not run: "+strings.Join(missing, ", "))
			}
			if len(extra) > 0 {
				why = append(why, "also ran: "+strings.Join(extra, ", "))
			}
			add("ran: want [%s], got [%s] (%s)", strings.Join(e.Ran, " "), strings.Join(got, " "), strings.Join(why, "; "))
		}
	}
	for _, o := range e.Outputs {
		got, ok := res.Outputs[o.Name]
		if !ok {
			add("outputs.%s: want %s, got nothing", o.Name, show(o.Value))
			continue
		}
		out = append(out, match("outputs."+o.Name, o.Value, got)...)
	}
	return out
}

// compare checks a step's or an item's call (p prefixes each line).
func (e CallExpect) compare(p, gotErr string, gotParams, gotOutput any) []string {
	var out []string
	if e.Error != "" && !strings.Contains(gotErr, e.Error) {
		out = append(out, fmt.Sprintf("%serror: want it to contain %q, got %q", p, e.Error, gotErr))
	}
	if e.HasParams {
		for _, m := range match("params", e.Params, gotParams) {
			out = append(out, p+m)
		}
	}
	if e.HasOutput {
		for _, m := range match("output", e.Output, gotOutput) {
			out = append(out, p+m)
		}
	}
	return out
}

func context1(what, s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (%s: %s)", what, s)
}

func stepContext(s *workflows.StepResult) string {
	switch {
	case s.Error != "":
		return context1("error", s.Error)
	case s.Reason != "":
		return context1("reason", s.Reason)
	}
	return ""
}

func compareGate(want *GateExpect, got *workflows.Gate) []string {
	if want.None {
		if got == nil {
			return nil
		}
		return []string{fmt.Sprintf("gate: want none, got one (%s)", gateSummary(got))}
	}
	if got == nil {
		return []string{"gate: want a gate, got none"}
	}
	var out []string
	if want.State != "" && want.State != got.State {
		out = append(out, fmt.Sprintf("gate.state: want %q, got %q (%s)", want.State, got.State, gateSummary(got)))
	}
	if want.Approvers != nil {
		w := append([]string(nil), want.Approvers...)
		g := append([]string(nil), got.Approvers...)
		sort.Strings(w)
		sort.Strings(g)
		if strings.Join(w, " ") != strings.Join(g, " ") {
			out = append(out, fmt.Sprintf("gate.approvers: want [%s], got [%s]", strings.Join(w, " "), strings.Join(g, " ")))
		}
	}
	if want.By != "" {
		by := ""
		if got.Decision != nil {
			by = got.Decision.User
		}
		if by != want.By {
			out = append(out, fmt.Sprintf("gate.by: want %q, got %q", want.By, by))
		}
	}
	if want.Escalated != nil && *want.Escalated != got.Escalated {
		out = append(out, fmt.Sprintf("gate.escalated: want %t, got %t", *want.Escalated, got.Escalated))
	}
	return out
}

func gateSummary(g *workflows.Gate) string {
	s := g.State
	if g.Decision != nil && g.Decision.User != "" {
		s += " by " + g.Decision.User
		if g.Decision.Reason != "" {
			s += ": " + g.Decision.Reason
		}
	}
	return s
}

// match is a subset match: every key of a wanted mapping must be in the
// got mapping (extra keys are fine) and match; lists match item by item
// and must have the same length; numbers compare by value (1 == 1.0);
// other scalars must be equal.
func match(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want a mapping, got %s", path, show(got))}
		}
		var out []string
		for _, k := range slices.Sorted(maps.Keys(w)) {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: want %s, got nothing", path, k, show(w[k])))
				continue
			}
			out = append(out, match(path+"."+k, w[k], gv)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want a list, got %s", path, show(got))}
		}
		if len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want %d items, got %d: %s", path, len(w), len(g), show(got))}
		}
		var out []string
		for i := range w {
			out = append(out, match(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	}
	if wf, ok := finding.Number(want); ok {
		if gf, ok := finding.Number(got); ok && sameNumber(wf, gf) {
			return nil
		}
	} else if want == got {
		return nil
	}
	return []string{fmt.Sprintf("%s: want %s, got %s", path, show(want), show(got))}
}

// sameNumber reports whether two numbers are one value: whole numbers
// (ids, counts, epoch seconds and milliseconds) exactly; a fraction within
// what floating point arithmetic makes of the decimal written (0.1+0.2 is
// 0.30000000000000004), a relative 1e-12. A relative tolerance on whole
// numbers would make 1700000000 and 1700000001 "equal".
func sameNumber(a, b float64) bool {
	if a == b {
		return true
	}
	if a == math.Trunc(a) && b == math.Trunc(b) {
		return false
	}
	return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

// show renders a value as compact JSON, cut to a readable length.
func show(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}
