// Package conditions compiles and evaluates the expr-lang expressions that
// playbooks use in `when`, `if`, `vars`, `outputs` and `${{ }}` templates.
//
// Everything here is deterministic so that it may run inside workflow code:
// now() is not available, keys()/values()/toPairs() return sorted results,
// date() defaults to UTC, and expressions are compiled once and reused.
package conditions

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	// timezone() and date(s, layout, zone) name IANA zones: a worker on a
	// machine without a zone database (a distroless image) reads them
	// from the binary instead of failing the run.
	_ "time/tzdata"
	"unicode"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"

	"github.com/riposte-dev/riposte/internal/finding"
)

// Limits that keep hostile or accidental input bounded.
const (
	MaxExprLen     = 4096      // characters in one expression
	MaxNodes       = 2000      // AST nodes in one expression
	MaxRenderBytes = 256 << 10 // bytes one rendered string may reach
)

// Scope says which names an expression may use.
type Scope int

// Scopes, from narrowest to widest.
const (
	// ScopeTrigger: `trigger.when` sees only the detection and its view.
	ScopeTrigger Scope = iota
	// ScopeVars: `vars` see the detection, earlier vars, playbook and run.
	ScopeVars
	// ScopeStep: step fields also see steps, item and index.
	ScopeStep
	// ScopeOutputs: playbook outputs see every step, but no item/index.
	ScopeOutputs
)

// Names returns the top-level names visible in the scope.
func (s Scope) Names() []string {
	switch s {
	case ScopeTrigger:
		return []string{"detection", "finding"}
	case ScopeVars:
		return []string{"detection", "finding", "vars", "playbook", "run"}
	case ScopeStep:
		return []string{"detection", "finding", "vars", "playbook", "run", "steps", "item", "index"}
	default:
		return []string{"detection", "finding", "vars", "playbook", "run", "steps"}
	}
}

// Error is a compile error with a 1-based position inside the expression.
type Error struct {
	Line, Column int // 1-based; Column counts runes
	Msg          string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg) }

// Program is a compiled expression.
type Program struct {
	Source string
	prog   *vm.Program
	// StepRefs lists the step ids the expression reads through `steps.<id>`,
	// sorted and unique, so validators can check they are upstream.
	StepRefs []string
	// VarRefs lists the vars read through `vars.<name>`, sorted and unique.
	VarRefs []string
	// RefAt is the byte offset in Source of the first use of each
	// reference in StepRefs and VarRefs, keyed "steps.<id>" / "vars.<name>"
	// (where its `steps` or `vars` is written), so a validator can point
	// at it; a reference the parser gave no position has none.
	RefAt map[string]int
	// UsesItem is true when the expression reads `item` or `index`.
	UsesItem bool
	// metered: the expression loops or builds strings, which its
	// evaluation's meter must see (budget.go).
	metered bool
	// readsEnv: the expression names $env, which is the map it runs
	// against: that map is then its own, never a pooled one.
	readsEnv bool
}

// Env is the data an expression runs against.
type Env struct {
	Detection map[string]any
	// Finding is the normalized view of the detection (internal/finding).
	Finding  map[string]any
	Vars     map[string]any
	Steps    map[string]any // id -> {"status","output","error"}
	Playbook map[string]any // name, version
	Run      map[string]any // id, workflow_id
	Item     any
	Index    int
	// HasItem is true inside for_each iterations.
	HasItem bool
}

// Map turns the env into the map expr runs against.
func (e *Env) Map() map[string]any {
	m := map[string]any{
		"detection": orEmpty(e.Detection),
		"finding":   orEmpty(e.Finding),
		"vars":      orEmpty(e.Vars),
		"steps":     orEmpty(e.Steps),
		"playbook":  orEmpty(e.Playbook),
		"run":       orEmpty(e.Run),
		"item":      e.Item,
		"index":     e.Index,
	}
	return m
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// compileEnv declares the names and their static types for the checker.
// item is declared as any (not nil, which the checker would treat as the nil
// type and reject item.field, item + 1 or upper(item)).
func compileEnv(s Scope) types.Map {
	env := types.Map{}
	for _, n := range s.Names() {
		switch n {
		case "index":
			env[n] = types.Int
		case "item":
			env[n] = types.Any
		default:
			env[n] = types.TypeOf(map[string]any{})
		}
	}
	env[meterName] = types.TypeOf(&meter{})
	return env
}

func options(s Scope, wantBool bool) []expr.Option {
	return append(checkOptions(s, wantBool), expr.Patch(budgetPatch{}))
}

// checkOptions are options without the budget patch: what compile checks
// the expression as written with.
func checkOptions(s Scope, wantBool bool) []expr.Option {
	opts := []expr.Option{
		expr.Env(compileEnv(s)),
		expr.MaxNodes(MaxNodes),
		// date() is helpers': it defaults to UTC and refuses the machine's
		// zone. Not expr.Timezone("UTC"): its location constant is left
		// untyped when date() is a method's receiver, so
		// date("2024-01-01").Year() fails at run time (expr v1.17.8); nor
		// a patch passing time.UTC to the builtin, after which a time's
		// In(timezone("Asia/Tokyo")) fails at run time.
		expr.DisableBuiltin("date"),
		// Wall clock and random map order must never reach workflow code.
		expr.DisableBuiltin("now"),
		expr.DisableBuiltin("keys"),
		expr.DisableBuiltin("values"),
		expr.DisableBuiltin("toPairs"),
		// timezone() is helpers' (expr's result fails in a time's In()).
		expr.DisableBuiltin("timezone"),
	}
	opts = append(opts, budgetFunctions()...)
	opts = append(opts, helpers()...)
	if wantBool {
		opts = append(opts, expr.AsBool())
	}
	return opts
}

// zone refuses "Local", the time zone of whichever machine evaluates the
// expression: a replay on another worker would see another.
func zone(name string) error {
	if strings.EqualFold(strings.TrimSpace(name), "Local") {
		return errors.New(`the time zone "Local" is the machine's, which differs between workers; name one (e.g. "Europe/Paris") or use UTC`)
	}
	return nil
}

// Compile compiles one expression for the scope. wantBool requires a bool
// result (a statically non-bool expression is a compile error).
func Compile(src string, s Scope, wantBool bool) (*Program, error) {
	key := cacheKey{src: src, scope: s, wantBool: wantBool}
	if p, ok := programs.Load(key); ok {
		return p.(*Program), nil
	}
	p, err := compile(src, s, wantBool)
	if err != nil {
		return nil, err
	}
	// Compiled programs are immutable and safe to share: playbooks repeat
	// the same expressions, and workers recompile the playbook of every run.
	if programCount.Add(1) > maxCachedPrograms {
		programs.Clear()
		programCount.Store(1)
	}
	programs.Store(key, p)
	return p, nil
}

type cacheKey struct {
	src      string
	scope    Scope
	wantBool bool
}

// maxCachedPrograms bounds the cache; past it the cache starts over.
const maxCachedPrograms = 20000

// The program cache is process-wide on purpose: a pure memo of Compile.
var (
	programs     sync.Map
	programCount atomic.Int64
)

func compile(src string, s Scope, wantBool bool) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Line: 1, Column: 1, Msg: "expression is empty"}
	}
	if strings.Contains(src, "$riposte") {
		i := strings.Index(src, "$riposte")
		line, col := position(src, i)
		return nil, &Error{Line: line, Column: col, Msg: "names starting with $riposte are reserved"}
	}
	if len(src) > MaxExprLen {
		return nil, &Error{Line: 1, Column: 1, Msg: fmt.Sprintf("expression is %d characters long; the limit is %d", len(src), MaxExprLen)}
	}
	// A constant pattern is compiled once, with the expression: over its
	// size limit it is refused here, before expr's checker builds it.
	if err := checkPatterns(src); err != nil {
		return nil, err
	}
	// Checked as written first: with a patch (a visitor) expr's checker
	// types every call in a pass whose errors it drops, and does not check
	// again the arguments of a call it has typed, so a misspelt name inside
	// is_ip(...) or affected_host(...) compiled (nil at run time: a trigger
	// that never matches).
	if _, err := expr.Compile(src, checkOptions(s, wantBool)...); err != nil {
		return nil, toError(err, s)
	}
	// Loops and growing values are charged to each evaluation's meter
	// (budget.go).
	prog, err := expr.Compile(src, options(s, wantBool)...)
	if err != nil {
		return nil, toError(err, s)
	}
	v := &refVisitor{src: src, seen: map[string]bool{}, at: map[string]int{}}
	node := prog.Node()
	ast.Walk(&node, v)
	if v.err != nil {
		return nil, v.err
	}
	sort.Strings(v.steps)
	sort.Strings(v.vars)
	return &Program{Source: src, prog: prog, StepRefs: v.steps, VarRefs: v.vars, RefAt: v.at, UsesItem: v.item, metered: v.metered, readsEnv: v.readsEnv}, nil
}

func toError(err error, s Scope) *Error {
	var fe *file.Error
	if errors.As(err, &fe) {
		line := fe.Line
		if line < 1 {
			line = 1
		}
		return &Error{Line: line, Column: fe.Column + 1, Msg: friendly(fe.Message, s)}
	}
	return &Error{Line: 1, Column: 1, Msg: friendly(err.Error(), s)}
}

func friendly(msg string, s Scope) string {
	if rest, ok := strings.CutPrefix(msg, "expected bool, but got "); ok {
		return "must be a bool expression, but it is " + rest
	}
	if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
		switch name {
		case "now":
			return "now() is not available: expressions must give the same result when a run is replayed (use detection.time)"
		case "detection", "finding", "vars", "playbook", "run", "steps", "item", "index":
			return fmt.Sprintf("%s is not available here (this expression may use: %s)", name, strings.Join(s.Names(), ", "))
		}
	}
	return msg
}

// refVisitor finds every `steps.<id>` / `vars.<name>` access and any use of
// item or index.
type refVisitor struct {
	src         string
	seen        map[string]bool
	at          map[string]int // RefAt
	steps, vars []string
	item        bool
	metered     bool
	readsEnv    bool
	err         *Error
}

func (v *refVisitor) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok && id.Value == meterName {
		v.metered = true
		return
	}
	if id, ok := (*node).(*ast.IdentifierNode); ok && id.Value == "$env" {
		v.readsEnv = true
		return
	}
	if id, ok := (*node).(*ast.IdentifierNode); ok && (id.Value == "item" || id.Value == "index") {
		v.item = true
		return
	}
	if c, ok := (*node).(*ast.CallNode); ok {
		if m, ok := c.Callee.(*ast.MemberNode); ok {
			if p, ok := m.Property.(*ast.StringNode); ok && p.Value == "Local" && v.err == nil {
				line, col := position(v.src, byteOffset(v.src, m.Location().From))
				v.err = &Error{Line: line, Column: col, Msg: "Local() converts to the time zone of whichever machine evaluates the expression, which differs between workers; use UTC() or In(timezone(\"Europe/Paris\"))"}
			}
		}
		return
	}
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || (id.Value != "steps" && id.Value != "vars") {
		return
	}
	s, ok := m.Property.(*ast.StringNode)
	if !ok {
		if v.err == nil {
			line, col := position(v.src, byteOffset(v.src, m.Location().From))
			v.err = &Error{Line: line, Column: col, Msg: fmt.Sprintf("%s must be indexed by a literal name (%s.<name>)", id.Value, id.Value)}
		}
		return
	}
	key := id.Value + "." + s.Value
	// The walk is not in source order: the first use is the leftmost.
	// The identifier's position is checked against the source, so a node
	// a patch made (no position of its own) gives none.
	if off := byteOffset(v.src, id.Location().From); strings.HasPrefix(v.src[off:], id.Value) {
		if prev, ok := v.at[key]; !ok || off < prev {
			v.at[key] = off
		}
	}
	if v.seen[key] {
		return
	}
	v.seen[key] = true
	if id.Value == "steps" {
		v.steps = append(v.steps, s.Value)
	} else {
		v.vars = append(v.vars, s.Value)
	}
}

// envPool holds the maps metered evaluations run against (Eval).
var envPool = sync.Pool{New: func() any { return make(map[string]any, 16) }}

// Eval runs the program, within MaxEvalSteps and MaxEvalBytes.
func (p *Program) Eval(env map[string]any) (any, error) {
	m := newMeter()
	if p.metered {
		// The meter travels in a copy of env (the caller's map may be
		// shared). Most expressions are metered (every len, lower or
		// contains charges what it scans), so the copy is a pooled map,
		// emptied after the run: nothing keeps it but an expression that
		// names $env, which gets a map of its own.
		var e map[string]any
		if p.readsEnv {
			e = make(map[string]any, len(env)+1)
		} else {
			e = envPool.Get().(map[string]any)
			defer func() { clear(e); envPool.Put(e) }()
		}
		maps.Copy(e, env)
		e[meterName] = m
		env = e
	}
	out, err := expr.Run(p.prog, env)
	if err != nil {
		return nil, fmt.Errorf("evaluating %q: %w", p.Source, err)
	}
	// What the expression returns is stored, rendered or sent to an
	// activity, all of which spell it out in full.
	if err := m.chargeValue(out); err != nil {
		return nil, fmt.Errorf("evaluating %q: the value: %w", p.Source, err)
	}
	return out, nil
}

// EvalBool runs a program compiled with wantBool. A nil result (for example
// from an optional chain) counts as false.
func (p *Program) EvalBool(env map[string]any) (bool, error) {
	out, err := p.Eval(env)
	if err != nil {
		return false, err
	}
	switch b := out.(type) {
	case bool:
		return b, nil
	case nil:
		return false, nil
	default:
		return false, fmt.Errorf("evaluating %q: result is %T, not bool", p.Source, out)
	}
}

func helpers() []expr.Option {
	return []expr.Option{
		expr.Function("timezone", func(args ...any) (any, error) {
			name, _ := args[0].(string)
			if err := zone(name); err != nil {
				return nil, err
			}
			return time.LoadLocation(name)
		}, new(func(string) *time.Location)),
		expr.Function("date", date,
			new(func(string) time.Time),
			new(func(string, string) time.Time),
			new(func(string, string, string) time.Time)),
		expr.Function("cidr_contains", func(args ...any) (any, error) {
			cidr, ok1 := args[0].(string)
			ip, ok2 := args[1].(string)
			if !ok1 || !ok2 {
				return false, nil
			}
			pfx, err := netip.ParsePrefix(strings.TrimSpace(cidr))
			if err != nil {
				return nil, fmt.Errorf("cidr_contains: %q is not a CIDR", cidr)
			}
			addr, err := netip.ParseAddr(strings.TrimSpace(ip))
			if err != nil {
				return false, nil
			}
			return pfx.Contains(addr.Unmap()), nil
		}, new(func(string, string) bool)),
		expr.Function("is_private_ip", func(args ...any) (any, error) {
			s, ok := args[0].(string)
			if !ok {
				return false, nil
			}
			addr, err := netip.ParseAddr(strings.TrimSpace(s))
			if err != nil {
				return false, nil
			}
			addr = addr.Unmap()
			return addr.IsPrivate() || addr.IsLoopback() || addr.IsLinkLocalUnicast() || cgnat.Contains(addr), nil
		}, new(func(string) bool)),
		expr.Function("is_ip", func(args ...any) (any, error) {
			s, ok := args[0].(string)
			if !ok {
				return false, nil
			}
			_, err := netip.ParseAddr(strings.TrimSpace(s))
			return err == nil, nil
		}, new(func(string) bool)),
		expr.Function("glob", func(args ...any) (any, error) {
			pattern, ok1 := args[0].(string)
			s, ok2 := args[1].(string)
			if !ok1 || !ok2 {
				return false, nil
			}
			return Glob(pattern, s), nil
		}, new(func(string, string) bool)),
		expr.Function("keys", func(args ...any) (any, error) {
			m, ok := args[0].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("keys: want a map, got %T", args[0])
			}
			return sortedKeys(m), nil
		}, new(func(map[string]any) []any)),
		expr.Function("values", func(args ...any) (any, error) {
			m, ok := args[0].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("values: want a map, got %T", args[0])
			}
			ks := sortedKeys(m)
			out := make([]any, len(ks))
			for i, k := range ks {
				out[i] = m[k.(string)]
			}
			return out, nil
		}, new(func(map[string]any) []any)),
		expr.Function("attack_ids", func(args ...any) (any, error) {
			m, _ := args[0].(map[string]any)
			return finding.AttackIDs(m), nil
		}, new(func(any) []any)),
		primary("primary_host", "hosts"),
		expr.Function("affected_host", func(args ...any) (any, error) {
			m, _ := args[0].(map[string]any)
			return finding.AffectedHost(m), nil
		}, new(func(any) string)),
		primary("primary_user", "users"),
		primary("primary_ip", "ips.all"),
		primary("primary_internal_ip", "ips.internal"),
		primary("primary_external_ip", "ips.external"),
		primary("primary_hash", "hashes"),
		primary("primary_cloud_resource", "cloud_resources"),
	}
}

// dateLayouts are the layouts date(s) tries, expr's.
var dateLayouts = []string{"2006-01-02", "15:04:05", "2006-01-02 15:04:05", time.RFC3339, time.RFC822, time.RFC850, time.RFC1123}

// date is expr's date() in UTC unless a zone is named: date(s),
// date(s, layout), date(s, layout, zone).
func date(args ...any) (any, error) {
	strs := make([]string, len(args))
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			return nil, fmt.Errorf("date: argument %d must be a string, got %T", i+1, a)
		}
		strs[i] = s
	}
	switch len(strs) {
	case 1:
		for _, layout := range dateLayouts {
			if t, err := time.ParseInLocation(layout, strs[0], time.UTC); err == nil {
				return t, nil
			}
		}
		return nil, fmt.Errorf("invalid date %s", strs[0])
	case 2:
		return time.ParseInLocation(strs[1], strs[0], time.UTC)
	default:
		if err := zone(strs[2]); err != nil {
			return nil, err
		}
		loc, err := time.LoadLocation(strs[2])
		if err != nil {
			return nil, err
		}
		return time.ParseInLocation(strs[1], strs[0], loc)
	}
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// primary declares NAME(finding): the first value of one entity list of the
// finding view, or "" when the list is empty.
func primary(name, kind string) expr.Option {
	return expr.Function(name, func(args ...any) (any, error) {
		m, ok := args[0].(map[string]any)
		if !ok {
			return "", nil
		}
		return finding.Primary(m, kind), nil
	}, new(func(any) string))
}

func sortedKeys(m map[string]any) []any {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = k
	}
	return out
}

// Glob matches s against a shell-style pattern where * matches any run of
// characters (including dots and slashes) and ? one character; case-insensitive.
//
// Case-insensitive as strings.EqualFold and strings.ToLower both are: the
// connectors find a host or user with EqualFold, so a guardrail pattern
// must match every name they would take for it ("ſrv-01" with a long s
// is srv-01 to EqualFold, and "\u212a" is K).
func Glob(pattern, s string) bool {
	match, _ := globRunes(globFold(pattern), globFold(s), -1)
	return match
}

// globRunes matches str against the folded pattern p, counting the steps
// it takes (up to n*m: a star is retried at every later position). With
// limit >= 0 it stops after limit steps, returning false and limit+1.
func globRunes(p, str []rune, limit int) (match bool, steps int) {
	var pi, si, star, mark = 0, 0, -1, 0
	for si < len(str) {
		steps++
		if limit >= 0 && steps > limit {
			return false, steps
		}
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false, steps
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p), steps
}

// globFold maps each rune of s to one representative of its case: the
// smallest rune of the simple case folding orbit of its lower case, so
// that two runes EqualFold or ToLower takes as equal map to the same rune.
func globFold(s string) []rune {
	rs := []rune(s)
	for i, r := range rs {
		r = unicode.ToLower(r)
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		rs[i] = m
	}
	return rs
}
