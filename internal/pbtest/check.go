package pbtest

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/yamlx"
	"github.com/riposte-dev/riposte/workflows"
)

// Check validates a decoded test file against the playbook it tests and the
// catalog: step ids, stubs that fit the steps' actions, approvals for steps
// that can have a gate, expected outputs the playbook declares. Every
// problem is a positioned diagnostic.
func Check(f *File, c *playbook.Compiled, cat *catalog.Catalog) playbook.Diagnostics {
	d := &decoder{r: &yamlx.Reporter{File: f.Path, Src: f.src}}
	ids := make([]string, len(c.Steps))
	for i, s := range c.Steps {
		ids[i] = s.ID
	}
	simulated := c.Playbook.Mode == playbook.ModeShadow
	for _, tc := range f.Cases {
		path := fmt.Sprintf("cases[%d]", tc.Index)
		step := func(k *yaml.Node, what string) *playbook.CStep {
			s, ok := c.Step(k.Value)
			if !ok {
				d.errorf(k, "%s.%s: playbook %s has no step %q%s", path, what, c.Playbook.Name, k.Value, yamlx.DidYouMean(k.Value, ids))
				return nil
			}
			return s
		}
		dry := tc.DryRun || simulated
		why := "a dry run"
		if simulated && !tc.DryRun {
			why = "shadow mode"
		}
		for _, k := range tc.stubKeys {
			s := step(k, "stubs")
			if s == nil {
				continue
			}
			sp := path + ".stubs." + k.Value
			a, ok := cat.Lookup(s.Step.Action)
			if !ok || s.Action == nil {
				d.errorf(k, "%s: step %s calls %s, which is not in the action catalog", sp, s.ID, s.Step.Action)
				continue
			}
			if dry && a.Risk != catalog.RiskRead {
				d.errorf(k, "%s: in %s, %s (risk %s) is simulated by the worker; this stub would never be used", sp, why, a.Name, a.Risk)
				continue
			}
			d.checkStub(tc.Stubs[k.Value], s, a, sp)
		}
		for _, k := range tc.apprKeys {
			s := step(k, "approvals")
			if s == nil {
				continue
			}
			ap := path + ".approvals." + k.Value
			if dry {
				d.errorf(k, "%s: in %s every gate is approved automatically; remove approvals", ap, why)
				continue
			}
			if ok, why := canGate(s); !ok {
				d.errorf(k, "%s: step %s never waits for approval (%s)", ap, s.ID, why)
			}
		}
		e := &tc.Expect
		for _, se := range e.Steps {
			s := step(se.node, "expect.steps")
			if s == nil {
				continue
			}
			sp := path + ".expect.steps." + se.ID
			if se.HasItems && s.ForEach == nil {
				d.errorf(se.itemNode, "%s.items: step %s has no for_each", sp, s.ID)
			}
			if se.Gate != nil && !se.Gate.None {
				if ok, why := canGate(s); !ok {
					d.errorf(se.gateNode, "%s.gate: step %s never has a gate (%s); say gate: none", sp, s.ID, why)
				}
			}
		}
		for _, n := range e.ranNodes {
			step(n, "expect.ran")
		}
		outs := make([]string, len(c.Playbook.Outputs))
		for i, o := range c.Playbook.Outputs {
			outs[i] = o.Name
		}
		for i, o := range e.Outputs {
			if !yamlx.Contains(outs, o.Name) {
				hint := yamlx.DidYouMean(o.Name, outs)
				if len(outs) == 0 {
					hint = " (it declares no outputs)"
				}
				d.errorf(e.outNodes[i], "%s.expect.outputs: playbook %s has no output %q%s", path, c.Playbook.Name, o.Name, hint)
			}
		}
	}
	return d.r.Diags.Sort()
}

// canGate says whether a step may wait for a person, and if not, why.
func canGate(s *playbook.CStep) (bool, string) {
	a := s.Step.Approval
	switch {
	case a != nil && a.Auto:
		return false, "approval: auto"
	case a != nil:
		return true, ""
	case s.Action != nil && s.Action.Risk == catalog.RiskContain:
		return true, ""
	}
	risk := "unknown"
	if s.Action != nil {
		risk = string(s.Action.Risk)
	}
	return false, fmt.Sprintf("no approval block, and %s is a %s action, not contain", s.Step.Action, risk)
}

func (d *decoder) checkStub(st *Stub, s *playbook.CStep, a *catalog.Action, path string) {
	if st == nil {
		return
	}
	if st.Items != nil {
		if s.ForEach == nil {
			d.errorf(st.itemsNode, "%s.items: step %s has no for_each", path, s.ID)
			return
		}
		for i, it := range st.Items {
			d.checkStub(it, s, a, fmt.Sprintf("%s.items[%d]", path, i))
		}
		return
	}
	if st.Attempts != nil {
		maxAttempts := workflows.DefaultMaxAttempts
		if s.Retry != nil && s.Retry.MaxAttempts > 0 {
			maxAttempts = s.Retry.MaxAttempts
		}
		if len(st.Attempts) > maxAttempts {
			d.errorf(st.attNode, "%s.attempts: %d attempts stubbed, but step %s makes at most %d (retry.max_attempts)", path, len(st.Attempts), s.ID, maxAttempts)
		}
		for i, at := range st.Attempts {
			if at.Error != "" && !at.Retryable && i < len(st.Attempts)-1 {
				d.errorf(at.node, "%s.attempts[%d] is not retryable, so the attempts after it are never made (say retryable: true)", path, i)
			}
			d.checkStub(at, s, a, fmt.Sprintf("%s.attempts[%d]", path, i))
		}
		return
	}
	if st.hasOutput {
		d.checkOutput(st, a, path)
	}
}

// checkOutput refuses output fields the action does not declare, so stubs
// stay honest about what the real action returns.
func (d *decoder) checkOutput(st *Stub, a *catalog.Action, path string) {
	names := make([]string, 0, len(a.Outputs))
	for _, f := range a.Outputs {
		if f.Name == "*" {
			return
		}
		names = append(names, f.Name)
	}
	var bad []string
	for k := range st.Output {
		if !yamlx.Contains(names, k) {
			bad = append(bad, k)
		}
	}
	sort.Strings(bad)
	for _, k := range bad {
		hint := yamlx.DidYouMean(k, names)
		if hint == "" {
			if len(names) == 0 {
				hint = " (it has no outputs)"
			} else {
				hint = " (its outputs: " + strings.Join(names, ", ") + ")"
			}
		}
		d.errorf(outputKeyNode(st.outputNode, k), "%s.output: %s has no output field %q%s", path, a.Name, k, hint)
	}
}

func outputKeyNode(n *yaml.Node, key string) *yaml.Node {
	n = yamlx.Resolve(n)
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i]
			}
		}
	}
	return n
}
