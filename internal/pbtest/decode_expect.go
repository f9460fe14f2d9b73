package pbtest

// What a case expects of the run: its status and outcome, each step, the
// steps that ran and the outputs.

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/yamlx"
	"github.com/riposte-dev/riposte/workflows"
)

func (d *decoder) expect(n *yaml.Node, path string, e *Expect) {
	fs, ok := d.r.Fields(n, path, "triggered", "status", "outcome", "outcome_detail", "error", "steps", "ran", "outputs")
	if !ok {
		return
	}
	if len(fs) == 0 {
		d.errorf(n, "%s: expect nothing? say at least one of status, steps, ran, outputs or triggered", path)
	}
	if v := fs["triggered"]; v != nil {
		b, ok := d.r.Bool(v, path+".triggered")
		if ok {
			e.Triggered = &b
		}
		if ok && !b && len(fs) > 1 {
			d.errorf(v, "%s: triggered: false means nothing runs; expect nothing else", path)
		}
	}
	if v := fs["status"]; v != nil {
		e.Status, _ = d.r.Enum(v, path+".status", runStatuses)
	}
	if v := fs["error"]; v != nil {
		e.Error, _ = d.r.String(v, path+".error")
	}
	if v := fs["outcome"]; v != nil {
		e.Outcome, _ = d.r.Enum(v, path+".outcome", workflows.Outcomes())
	}
	if v := fs["outcome_detail"]; v != nil {
		e.OutcomeDetail, _ = d.r.String(v, path+".outcome_detail")
	}
	if v := fs["steps"]; v != nil {
		ps, ok := d.r.Mapping(v, path+".steps")
		if ok && len(yamlx.Resolve(v).Content) == 0 {
			// An empty mapping checks nothing, as expect: {} would.
			d.errorf(v, "%s.steps names no step; name one (a: succeeded) or leave steps out", path)
		}
		for _, p := range ps {
			sp := path + ".steps." + p.Key.Value
			d.stepID(p.Key, sp)
			if se := d.stepExpect(p.Value, sp); se != nil {
				se.ID = p.Key.Value
				se.node = p.Key
				e.Steps = append(e.Steps, se)
			}
		}
	}
	if v := fs["ran"]; v != nil {
		e.HasRan = true
		if v.Kind != yaml.SequenceNode {
			d.errorf(v, "%s.ran must be a list of step ids, got %s", path, yamlx.KindName(v))
		} else {
			seen := map[string]bool{}
			for i, s := range v.Content {
				s = yamlx.Resolve(s)
				id, ok := d.r.String(s, fmt.Sprintf("%s.ran[%d]", path, i))
				if !ok {
					continue
				}
				if seen[id] {
					d.errorf(s, "%s.ran: %s is listed twice", path, id)
					continue
				}
				seen[id] = true
				e.Ran = append(e.Ran, id)
				e.ranNodes = append(e.ranNodes, s)
			}
		}
	}
	if v := fs["outputs"]; v != nil {
		ps, ok := d.r.Mapping(v, path+".outputs")
		if ok && len(yamlx.Resolve(v).Content) == 0 {
			d.errorf(v, "%s.outputs names no output; name one or leave outputs out", path)
		}
		for _, p := range ps {
			val, ok := d.r.Value(p.Value, path+".outputs."+p.Key.Value)
			if ok {
				e.Outputs = append(e.Outputs, NamedValue{Name: p.Key.Value, Value: val})
				e.outNodes = append(e.outNodes, p.Key)
			}
		}
	}
}

var stepExpectKeys = []string{"status", "reason", "error", "params", "output", "attempts", "gate", "items"}

func (d *decoder) stepExpect(n *yaml.Node, path string) *StepExpect {
	n = yamlx.Resolve(n)
	if n.Kind == yaml.ScalarNode {
		st, ok := d.r.Enum(n, path, stepStatuses)
		if !ok {
			return nil
		}
		return &StepExpect{Status: st}
	}
	fs, ok := d.r.Fields(n, path, stepExpectKeys...)
	if !ok {
		return nil
	}
	if len(fs) == 0 {
		d.errorf(n, "%s: expect nothing? say at least a status", path)
		return nil
	}
	se := &StepExpect{}
	if v := fs["status"]; v != nil {
		se.Status, _ = d.r.Enum(v, path+".status", stepStatuses)
	}
	if v := fs["reason"]; v != nil {
		se.Reason, _ = d.r.String(v, path+".reason")
	}
	if v := fs["error"]; v != nil {
		se.Error, _ = d.r.String(v, path+".error")
	}
	if v := fs["params"]; v != nil {
		se.Params, se.HasParams = d.params(v, path+".params")
	}
	if v := fs["output"]; v != nil {
		se.Output, se.HasOutput = d.r.Value(v, path+".output")
	}
	if v := fs["attempts"]; v != nil {
		if a, ok := d.r.Int(v, path+".attempts", 0); ok {
			se.Attempts = &a
		}
	}
	if v := fs["gate"]; v != nil {
		se.gateNode = v
		se.Gate = d.gateExpect(v, path+".gate")
	}
	if v := fs["items"]; v != nil {
		se.HasItems = true
		se.itemNode = v
		if v.Kind != yaml.SequenceNode {
			d.errorf(v, "%s.items must be a list, got %s", path, yamlx.KindName(v))
		} else {
			for i, e := range v.Content {
				ip := fmt.Sprintf("%s.items[%d]", path, i)
				e = yamlx.Resolve(e)
				it := &ItemExpect{}
				if e.Kind == yaml.ScalarNode {
					it.Status, _ = d.r.Enum(e, ip, stepStatuses)
					se.Items = append(se.Items, it)
					continue
				}
				ifs, ok := d.r.Fields(e, ip, "status", "error", "params", "output", "attempts")
				if !ok {
					continue
				}
				if x := ifs["status"]; x != nil {
					it.Status, _ = d.r.Enum(x, ip+".status", []string{playbook.StatusSucceeded, playbook.StatusFailed, playbook.StatusTimedOut})
				}
				if x := ifs["error"]; x != nil {
					it.Error, _ = d.r.String(x, ip+".error")
				}
				if x := ifs["params"]; x != nil {
					it.Params, it.HasParams = d.params(x, ip+".params")
				}
				if x := ifs["output"]; x != nil {
					it.Output, it.HasOutput = d.r.Value(x, ip+".output")
				}
				if x := ifs["attempts"]; x != nil {
					if a, ok := d.r.Int(x, ip+".attempts", 0); ok {
						it.Attempts = &a
					}
				}
				se.Items = append(se.Items, it)
			}
		}
	}
	return se
}

// params reads a step's or an item's expected params. A call's params are
// always a mapping, so an empty one checks nothing, as expect: {} would.
func (d *decoder) params(n *yaml.Node, path string) (any, bool) {
	if rn := yamlx.Resolve(n); rn != nil && rn.Kind == yaml.MappingNode && len(rn.Content) == 0 {
		d.errorf(n, "%s names no param; name one (hostname: h1) or leave params out", path)
		return nil, false
	}
	return d.r.Value(n, path)
}

func (d *decoder) gateExpect(n *yaml.Node, path string) *GateExpect {
	n = yamlx.Resolve(n)
	if n.Kind == yaml.ScalarNode && n.Value == "none" {
		return &GateExpect{None: true}
	}
	if n.Kind == yaml.ScalarNode {
		st, ok := d.r.Enum(n, path, append([]string{"none"}, gateStates...))
		if !ok {
			return nil
		}
		return &GateExpect{State: st}
	}
	fs, ok := d.r.Fields(n, path, "state", "approvers", "by", "escalated")
	if !ok {
		return nil
	}
	g := &GateExpect{}
	if v := fs["state"]; v != nil {
		g.State, _ = d.r.Enum(v, path+".state", gateStates)
	}
	if v := fs["approvers"]; v != nil {
		g.Approvers, _ = d.r.StringList(v, path+".approvers")
	}
	if v := fs["by"]; v != nil {
		g.By, _ = d.r.String(v, path+".by")
	}
	if v := fs["escalated"]; v != nil {
		if b, ok := d.r.Bool(v, path+".escalated"); ok {
			g.Escalated = &b
		}
	}
	if len(fs) == 0 {
		d.errorf(n, "%s: expect nothing? say state, approvers, by or escalated (or gate: none)", path)
	}
	return g
}
