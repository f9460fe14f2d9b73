package playbook

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/conditions"
	"github.com/riposte-dev/riposte/internal/yamlx"
)

// Compiled is a validated playbook with every expression compiled once.
// It is immutable and safe to share between runs.
type Compiled struct {
	Playbook *Playbook
	Digest   string
	// Source is the YAML the playbook was loaded from (Digest is its
	// sha256), kept so the playbook store can persist it by digest; nil
	// for playbooks compiled from a parsed value.
	Source  []byte
	When    *conditions.Program
	Vars    []Named
	Outputs []Named
	Steps   []*CStep // in declaration order
	byID    map[string]*CStep
}

// Named is a compiled var or output.
type Named struct {
	Name string
	Prog *conditions.Program
}

// CStep is a compiled step.
type CStep struct {
	*Step
	Index      int
	Action     *catalog.Action
	If         *conditions.Program
	With       *conditions.Value
	ForEach    *conditions.Value
	ApprovalIf *conditions.Program
	// Upstream holds every step this one transitively needs.
	Upstream map[string]bool
}

// Step returns the compiled step with the id.
func (c *Compiled) Step(id string) (*CStep, bool) {
	s, ok := c.byID[id]
	return s, ok
}

// Compile validates a parsed playbook against the catalog and compiles its
// expressions. It reports every problem it finds, each with its position.
func Compile(pb *Playbook, cat *catalog.Catalog, digest string) (*Compiled, Diagnostics) {
	v := &validator{pb: pb, cat: cat, c: &Compiled{Playbook: pb, Digest: digest, byID: map[string]*CStep{}}}
	v.run()
	if len(v.diags) > 0 {
		return nil, v.diags.Sort()
	}
	return v.c, nil
}

// CompileStored compiles a playbook already accepted once, as LoadStored
// does: a workflow's inline input (decoded from its history, where stored
// is lost) was validated when its run started, perhaps by an earlier
// release, and the refusals that only guard authoring (contain_for past
// MaxContainFor, contain_for on an undo that does nothing, an empty if)
// must not fail a run in flight. pb is not changed.
func CompileStored(pb *Playbook, cat *catalog.Catalog, digest string) (*Compiled, Diagnostics) {
	if pb == nil {
		return Compile(pb, cat, digest)
	}
	cp := *pb
	cp.stored = true
	return Compile(&cp, cat, digest)
}

type validator struct {
	pb    *Playbook
	cat   *catalog.Catalog
	c     *Compiled
	diags Diagnostics
}

func (v *validator) at(path string) (int, int) {
	if p, ok := v.pb.pos[path]; ok {
		return p.Line, p.Col
	}
	// Fall back to the closest enclosing path that has a position.
	for path != "" {
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
		if p, ok := v.pb.pos[path]; ok {
			return p.Line, p.Col
		}
	}
	return 1, 1
}

func (v *validator) errorf(path, format string, args ...any) {
	line, col := v.at(path)
	v.add(line, col, fmt.Sprintf(format, args...))
}

// errorfKey reports a problem with the key of the value at path: at the
// key when its position is known, else as errorf.
func (v *validator) errorfKey(path, format string, args ...any) {
	if p, ok := v.pb.pos[keyPath(path)]; ok {
		v.add(p.Line, p.Col, fmt.Sprintf(format, args...))
		return
	}
	v.errorf(path, format, args...)
}

// refErrorf reports a problem with the reference key (steps.x, vars.y)
// the expression prog at path makes: at the reference inside the YAML
// value when the compiler placed it (prog's Source is at byte at of the
// value: 0, or a placeholder's place in a template), else as errorf. The
// position is the compiler's, never a search of the text, which finds a
// string literal or a template's text spelling the reference first.
func (v *validator) refErrorf(path string, prog *conditions.Program, at int, key, format string, args ...any) {
	if p, ok := v.pb.pos[path]; ok {
		if off, ok := prog.RefAt[key]; ok && at >= 0 && at <= len(p.Value) && strings.HasPrefix(p.Value[at:], prog.Source) {
			line, col := yamlx.TextPos(p.Value[:at+off])
			if l, c, ok := valuePos(v.pb.src, p, line, col); ok {
				v.add(l, c, fmt.Sprintf(format, args...))
				return
			}
		}
	}
	v.errorf(path, format, args...)
}

// exprErr places an expression error at its position inside the YAML value.
func (v *validator) exprErr(path string, err error) {
	var ce *conditions.Error
	if !errors.As(err, &ce) {
		v.errorf(path, "%s: %v", path, err)
		return
	}
	line, col := v.at(path)
	if p, ok := v.pb.pos[path]; ok {
		if l, c, ok := valuePos(v.pb.src, p, ce.Line, ce.Column); ok {
			line, col = l, c
		}
	}
	v.add(line, col, fmt.Sprintf("%s: %s", path, ce.Msg))
}

func (v *validator) add(line, col int, msg string) {
	r := yamlx.Reporter{File: v.pb.File, Src: v.pb.src}
	r.At(yamlx.SeverityError, line, col, msg)
	v.diags = append(v.diags, r.Diags...)
}

func (v *validator) compile(path, src string, sc conditions.Scope, wantBool bool) *conditions.Program {
	if src == "" {
		// No if: is no condition. One written as "" is no expression:
		// compiled to nothing, an empty trigger.when, var or output would
		// fail every evaluation (the intake, the run) instead of here.
		// (A field of another kind, or null, has its own diagnostic.)
		// A stored version keeps an empty if as no condition, as releases
		// before this refusal ran it (LoadStored).
		if v.pb.stored && strings.HasSuffix(path, ".if") {
			return nil
		}
		if v.pb.pos[path].EmptyString || (v.pb.pos == nil && (strings.HasPrefix(path, "vars.") || strings.HasPrefix(path, "outputs."))) {
			v.errorf(path, "%s: expression is empty", path)
		}
		return nil
	}
	prog, err := conditions.Compile(src, sc, wantBool)
	if err != nil {
		v.exprErr(path, err)
		return nil
	}
	return prog
}

func (v *validator) run() {
	pb := v.pb
	v.c.When = v.compile("trigger.when", pb.Trigger.When, conditions.ScopeTrigger, true)

	// vars: each may read only the vars before it.
	defined := map[string]bool{}
	for i, vr := range pb.Vars {
		path := "vars." + vr.Name
		prog := v.compile(path, vr.Expr, conditions.ScopeVars, false)
		if prog != nil {
			for _, r := range prog.VarRefs {
				switch {
				case defined[r]:
				case r == vr.Name:
					v.refErrorf(path, prog, 0, "vars."+r, "%s: a var cannot use itself", path)
				case containsVar(pb.Vars, r):
					v.refErrorf(path, prog, 0, "vars."+r, "%s: vars.%s is defined later; a var may only use the vars before it", path, r)
				default:
					v.refErrorf(path, prog, 0, "vars."+r, "%s: unknown var %q%s", path, r, didYouMean(r, varNames(pb.Vars[:i])))
				}
			}
		}
		defined[vr.Name] = true
		v.c.Vars = append(v.c.Vars, Named{Name: vr.Name, Prog: prog})
	}

	ids := v.stepIDs()
	upstream := v.graph(ids)

	for i := range pb.Steps {
		st := &pb.Steps[i]
		path := fmt.Sprintf("steps[%d]", i)
		cs := &CStep{Step: st, Index: i, Upstream: upstream[st.ID]}
		v.step(cs, path, ids, pb.Vars)
		v.c.Steps = append(v.c.Steps, cs)
		if st.ID != "" {
			if _, dup := v.c.byID[st.ID]; !dup {
				v.c.byID[st.ID] = cs
			}
		}
	}

	for _, o := range pb.Outputs {
		path := "outputs." + o.Name
		prog := v.compile(path, o.Expr, conditions.ScopeOutputs, false)
		if prog != nil {
			v.checkRefs(path, prog, 0, nil, ids, pb.Vars, "")
		}
		v.c.Outputs = append(v.c.Outputs, Named{Name: o.Name, Prog: prog})
	}
}

func containsVar(vars []Var, name string) bool {
	for _, v := range vars {
		if v.Name == name {
			return true
		}
	}
	return false
}

func varNames(vars []Var) []string {
	out := make([]string, len(vars))
	for i, v := range vars {
		out[i] = v.Name
	}
	return out
}

// stepIDs maps each step id to its index, reporting duplicates.
func (v *validator) stepIDs() map[string]int {
	ids := map[string]int{}
	for i, st := range v.pb.Steps {
		if st.ID == "" {
			continue
		}
		if j, dup := ids[st.ID]; dup {
			line, _ := v.at(fmt.Sprintf("steps[%d].id", j))
			v.errorf(fmt.Sprintf("steps[%d].id", i), "duplicate step id %q (first defined on line %d)", st.ID, line)
			continue
		}
		ids[st.ID] = i
	}
	return ids
}

// graph checks needs and returns each step's transitive upstream set. Cycles
// are reported once, naming the steps in the loop.
func (v *validator) graph(ids map[string]int) map[string]map[string]bool {
	steps := v.pb.Steps
	for i, st := range steps {
		for j, n := range st.Needs {
			path := fmt.Sprintf("steps[%d].needs[%d]", i, j)
			if _, ok := ids[n]; !ok {
				v.errorf(path, "steps[%d].needs: unknown step %q%s", i, n, didYouMean(n, slices.Sorted(maps.Keys(ids))))
			} else if n == st.ID {
				v.errorf(path, "step %q needs itself", st.ID)
			}
		}
	}
	// Depth-first search for cycles, in declaration order for stable output.
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(steps))
	var stack []int
	reported := map[string]bool{}
	var visit func(i int)
	visit = func(i int) {
		color[i] = grey
		stack = append(stack, i)
		for _, n := range steps[i].Needs {
			j, ok := ids[n]
			if !ok || j == i {
				continue
			}
			switch color[j] {
			case white:
				visit(j)
			case grey:
				k := len(stack) - 1
				for k >= 0 && stack[k] != j {
					k--
				}
				var names []string
				for _, s := range stack[k:] {
					names = append(names, steps[s].ID)
				}
				names = append(names, steps[j].ID)
				sorted := append([]string(nil), names[:len(names)-1]...)
				sort.Strings(sorted)
				if key := strings.Join(sorted, ","); !reported[key] {
					reported[key] = true
					v.errorf(fmt.Sprintf("steps[%d].needs", j), "needs form a cycle: %s", strings.Join(names, " -> "))
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
	}
	for i := range steps {
		if color[i] == white {
			visit(i)
		}
	}
	up := map[string]map[string]bool{}
	var collect func(id string, seen map[string]bool)
	collect = func(id string, seen map[string]bool) {
		i, ok := ids[id]
		if !ok {
			return
		}
		for _, n := range steps[i].Needs {
			if !seen[n] && n != id {
				seen[n] = true
				collect(n, seen)
			}
		}
	}
	for _, st := range steps {
		if st.ID == "" {
			continue
		}
		seen := map[string]bool{}
		collect(st.ID, seen)
		delete(seen, st.ID)
		up[st.ID] = seen
	}
	return up
}

// checkRefs verifies every steps.<id> an expression reads is upstream (nil
// upstream means any step may be read, as in outputs), and vars exist.
func (v *validator) checkRefs(path string, prog *conditions.Program, at int, upstream map[string]bool, ids map[string]int, vars []Var, self string) {
	for _, r := range prog.StepRefs {
		if _, ok := ids[r]; !ok {
			v.refErrorf(path, prog, at, "steps."+r, "%s: unknown step %q%s", path, r, didYouMean(r, slices.Sorted(maps.Keys(ids))))
			continue
		}
		if upstream == nil {
			continue
		}
		if r == self {
			v.refErrorf(path, prog, at, "steps."+r, "%s: a step cannot read its own result (steps.%s)", path, r)
		} else if !upstream[r] {
			v.refErrorf(path, prog, at, "steps."+r, "%s: steps.%s is not upstream of step %q; add it to needs", path, r, self)
		}
	}
	for _, r := range prog.VarRefs {
		if !containsVar(vars, r) {
			v.refErrorf(path, prog, at, "vars."+r, "%s: unknown var %q%s", path, r, didYouMean(r, varNames(vars)))
		}
	}
}

func (v *validator) step(cs *CStep, path string, ids map[string]int, vars []Var) {
	st := cs.Step
	up := cs.Upstream
	if up == nil {
		up = map[string]bool{}
	}
	// at: the byte offset of prog's source in the value at p (a
	// placeholder's place in a template).
	check := func(p string, prog *conditions.Program, at int, allowItem bool) {
		if prog == nil {
			return
		}
		v.checkRefs(p, prog, at, up, ids, vars, st.ID)
		if prog.UsesItem && !allowItem {
			if st.ForEach == nil {
				v.errorf(p, "%s: item and index are only defined in a step with for_each", p)
			} else {
				v.errorf(p, "%s: item and index are not defined here", p)
			}
		}
	}

	if strings.TrimSpace(st.Action) != "" {
		a, ok := v.cat.Lookup(st.Action)
		if !ok {
			v.errorf(path+".action", "%s.action: unknown action %q%s", path, st.Action, didYouMean(st.Action, v.cat.Names()))
		} else {
			cs.Action = a
		}
	}

	hasItem := st.ForEach != nil
	cs.If = v.compile(path+".if", st.If, conditions.ScopeStep, true)
	check(path+".if", cs.If, 0, hasItem)

	if st.ForEach != nil {
		val, errs := conditions.CompileValue(st.ForEach, conditions.ScopeStep)
		for _, e := range errs {
			v.exprErr(joinPath(path+".for_each", e.Path), e.Err)
		}
		if len(errs) == 0 {
			for _, pp := range val.Programs() {
				check(joinPath(path+".for_each", pp.Path), pp.Prog, pp.At, false)
			}
			if s, ok := st.ForEach.(string); ok && !val.Single() {
				v.errorf(path+".for_each", "%s.for_each must be a list or exactly one ${{ expr }}, got %q", path, s)
			}
		}
		cs.ForEach = val
	} else if st.Concurrency != 0 {
		v.errorf(path+".concurrency", "%s.concurrency only applies to a step with for_each", path)
	}

	val, errs := conditions.CompileValue(orEmptyMap(st.With), conditions.ScopeStep)
	for _, e := range errs {
		v.exprErr(joinPath(path+".with", e.Path), e.Err)
	}
	for _, pp := range val.Programs() {
		check(joinPath(path+".with", pp.Path), pp.Prog, pp.At, hasItem)
	}
	cs.With = val
	if cs.Action != nil {
		v.params(cs, path)
	}

	if a := st.Approval; a != nil && !a.Auto {
		cs.ApprovalIf = v.compile(path+".approval.if", a.If, conditions.ScopeStep, true)
		check(path+".approval.if", cs.ApprovalIf, 0, false)
		ap := path + ".approval"
		if a.OnTimeout == OnTimeoutEscalate && a.EscalateTo == nil {
			v.errorf(ap+".on_timeout", "%s: on_timeout: escalate needs escalate_to", ap)
		}
		if a.EscalateTo != nil && a.OnTimeout != OnTimeoutEscalate {
			v.errorf(ap+".escalate_to", "%s: escalate_to is only used with on_timeout: escalate", ap)
		}
		if a.EscalateTo != nil && len(a.EscalateTo.Users) == 0 && len(a.EscalateTo.Groups) == 0 {
			v.errorf(ap+".escalate_to", "%s.escalate_to names no users or groups", ap)
		}
		if q := a.Quorum; q > 1 && len(a.Approvers.Groups) == 0 && len(a.Approvers.Users) > 0 && q > len(a.Approvers.Users) {
			v.errorf(ap+".quorum", "%s: quorum %d is more than the %d approvers listed", ap, q, len(a.Approvers.Users))
		}
		if e := a.EscalateTo; e != nil && e.Quorum > 1 && len(e.Groups) == 0 && len(e.Users) > 0 && e.Quorum > len(e.Users) {
			v.errorf(ap+".escalate_to.quorum", "%s.escalate_to: quorum %d is more than the %d approvers listed", ap, e.Quorum, len(e.Users))
		}
	}
	if st.ContainFor != 0 && cs.Action != nil && cs.Action.Risk != catalog.RiskContain {
		v.errorf(path+".contain_for", "%s.contain_for: action %s is not a contain action (risk %s), so there is nothing to release", path, cs.Action.Name, cs.Action.Risk)
	}
	// A time box of months or centuries is none: past MaxContainFor a
	// human extends it again. A stored version keeps its hold.
	if st.ContainFor > MaxContainFor && !v.pb.stored {
		v.errorf(path+".contain_for", "%s.contain_for: %s is longer than %s, the longest time-boxed containment; set at most %s (riposte extend prolongs a hold, by at most %s at a time), or drop contain_for to leave the containment in place", path, st.ContainFor, MaxContainFor, MaxContainFor, MaxContainFor)
	}
	// An undo that does nothing (core.noop: revoked sessions, a generic
	// HTTP request) releases nothing: the hold would read "released" while
	// the containment stays. A stored version keeps it (LoadStored), so a
	// run in flight during an upgrade replays as it ran.
	if st.ContainFor != 0 && cs.Action != nil && cs.Action.Risk == catalog.RiskContain && cs.Action.Undo == NoopUndo && !v.pb.stored {
		v.errorf(path+".contain_for", "%s.contain_for: action %s cannot be undone (its undo is %s), so nothing would be released when the time is up; remove contain_for, or release it with a later step", path, cs.Action.Name, NoopUndo)
	}
}

// NoopUndo is the undo of contain actions that cannot be undone (revoked
// sessions, http.request): it does nothing.
const NoopUndo = "core.noop"

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func joinPath(base, rel string) string {
	switch {
	case rel == "":
		return base
	case strings.HasPrefix(rel, "["):
		return base + rel
	default:
		return base + "." + rel
	}
}

// params checks a step's `with` against its action: unknown and missing
// params, and the types of literal values.
func (v *validator) params(cs *CStep, path string) {
	a := cs.Action
	for _, k := range slices.Sorted(maps.Keys(cs.Step.With)) {
		if _, ok := a.Param(k); !ok && !a.AnyParams {
			hint := didYouMean(k, a.ParamNames())
			if hint == "" && len(a.Params) > 0 {
				hint = fmt.Sprintf(" (%s takes: %s)", a.Name, strings.Join(a.ParamNames(), ", "))
			} else if hint == "" {
				hint = fmt.Sprintf(" (%s takes no params)", a.Name)
			}
			v.errorfKey(path+".with."+k, "%s.with: unknown param %q for action %s%s", path, k, a.Name, hint)
		}
	}
	for _, prm := range a.Params {
		raw, ok := cs.Step.With[prm.Name]
		if !ok {
			if prm.Required {
				v.errorf(path+".action", "%s: action %s needs param %q (%s)", path, a.Name, prm.Name, prm.Type)
			}
			continue
		}
		fv, _ := cs.With.Field(prm.Name)
		if fv == nil || fv.Single() {
			continue // type known only at run time
		}
		if msg := literalTypeError(raw, prm); msg != "" {
			v.errorf(path+".with."+prm.Name, "%s.with.%s: %s", path, prm.Name, msg)
		}
	}
}

// literalTypeError checks a literal (or a string holding templates) against
// the param type; "" means fine.
func literalTypeError(val any, p catalog.Param) string {
	got := typeName(val)
	if s, ok := val.(string); ok && conditions.IsTemplate(s) {
		// A string with placeholders renders to a string.
		switch p.Type {
		case catalog.TypeString, catalog.TypeAny:
			return ""
		}
		return fmt.Sprintf("must be %s; a string with ${{ }} inside renders to a string (use exactly one ${{ expr }} to keep its type)", typeWord(p.Type))
	}
	ok := false
	switch p.Type {
	case catalog.TypeAny:
		ok = true
	case catalog.TypeString:
		_, ok = val.(string)
	case catalog.TypeInt:
		switch n := val.(type) {
		case int:
			ok = true
		case float64: // a whole number that went through JSON (workflow input)
			ok = n == math.Trunc(n) && !math.IsInf(n, 0)
		}
	case catalog.TypeNumber:
		switch val.(type) {
		case int, float64:
			ok = true
		}
	case catalog.TypeBool:
		_, ok = val.(bool)
	case catalog.TypeList:
		_, ok = val.([]any)
	case catalog.TypeObject:
		_, ok = val.(map[string]any)
	}
	if !ok {
		return fmt.Sprintf("must be %s, got %s", typeWord(p.Type), got)
	}
	if s, isStr := val.(string); isStr && len(p.Enum) > 0 && !contains(p.Enum, s) {
		return fmt.Sprintf("%q is not one of %s%s", s, strings.Join(p.Enum, ", "), didYouMean(s, p.Enum))
	}
	return ""
}

func typeWord(t string) string {
	switch t {
	case catalog.TypeInt:
		return "an integer"
	case catalog.TypeObject:
		return "a mapping"
	case catalog.TypeAny:
		return "any value"
	default:
		return "a " + t
	}
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case int:
		return "an integer"
	case float64:
		return "a number"
	case bool:
		return "a bool"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}
