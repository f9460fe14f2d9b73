package conditions

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// Budgets of one evaluation. expr's own memory budget charges ranges,
// literals and repeat() only once they exist, and nothing charges a loop:
// without these, `let r = 1..1000` nested four deep is 10^12 iterations
// and `reduce(1..40, #acc + #acc, "x")` a terabyte, enough to pin a
// workflow task (or a serve intake request) on a core for good or to kill
// the process with every run it hosts.
const (
	// MaxEvalSteps bounds the predicate iterations (all, any, map, filter,
	// reduce, sortBy, ...), the list elements `in` scans, the comparisons
	// uniq makes between values other than strings and numbers, and glob's
	// backtracking: about a quarter of a second of work.
	MaxEvalSteps = 1_000_000
	// MaxEvalBytes bounds the bytes that string concatenation, repeat(),
	// replace(), join(), toJSON(), string(), flatten(), concat(), split(),
	// splitAfter() and fromJSON() build,
	// together with the size of the value the expression returns (as
	// indented JSON would roughly spell it, a list held twice counted
	// twice).
	MaxEvalBytes = 16 << 20
)

// meterName is the env key each evaluation's meter travels under; users
// cannot name it (see compile).
const meterName = "$riposte_meter"

// meter counts what one evaluation has left.
type meter struct{ steps, bytes int }

func newMeter() *meter { return &meter{steps: MaxEvalSteps, bytes: MaxEvalBytes} }

// String is what an expression that spells out $env (string($env))
// sees of the meter, the same at every evaluation: its address would
// differ at each, and on each worker replaying a run.
func (m *meter) String() string { return "(budget)" }

var (
	errSteps = fmt.Errorf("the expression is too expensive: over its budget of %d loop iterations", MaxEvalSteps)
	errBytes = fmt.Errorf("the expression is too expensive: over its budget of %d bytes built", MaxEvalBytes)
)

func (m *meter) step(n int) error   { return take(&m.steps, n, errSteps) }
func (m *meter) charge(n int) error { return take(&m.bytes, n, errBytes) }

// take spends n of what is left, or empties it and returns over.
func take(left *int, n int, over error) error {
	if n < 0 || n > *left {
		*left = 0
		return over
	}
	*left -= n
	return nil
}

// chargeValue charges the size of v as JSON (indented, as toJSON spells
// it) would roughly take, counting a list held twice twice, and stops at
// the first byte over the budget, so it runs in time bounded by the budget
// whatever v shares.
func (m *meter) chargeValue(v any) error { return m.value(reflect.ValueOf(v), 0, 1) }

// jsonEscape is how many bytes toJSON may write for one byte of a string:
// a control character, <, > or & becomes \u00XX.
const jsonEscape = 6

// chargeJSON charges v as toJSON may spell it: every string byte may
// become an escape of jsonEscape bytes.
func (m *meter) chargeJSON(v any) error { return m.value(reflect.ValueOf(v), 0, jsonEscape) }

func (m *meter) value(v reflect.Value, depth, perByte int) error {
	if err := m.charge(2*depth + 2); err != nil {
		return err
	}
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		if v.Len() > MaxEvalBytes/perByte {
			return m.charge(-1)
		}
		return m.charge(v.Len() * perByte)
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if err := m.value(v.Index(i), depth+1, perByte); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if err := m.value(it.Key(), depth+1, perByte); err != nil {
				return err
			}
			if err := m.value(it.Value(), depth+1, perByte); err != nil {
				return err
			}
		}
	default:
		return m.charge(24)
	}
	return nil
}

func add(args ...any) (any, error) {
	a, aok := args[1].(string)
	b, bok := args[2].(string)
	if aok && bok {
		if err := meterOf(args[0]).charge(len(a) + len(b)); err != nil {
			return nil, err
		}
		return a + b, nil
	}
	return runtime.Add(args[1], args[2]), nil
}

func grow(args ...any) (any, error) {
	if s, ok := args[1].(string); ok {
		pct, _ := args[2].(int)
		if len(s) > MaxEvalBytes {
			return nil, errBytes
		}
		if err := meterOf(args[0]).charge(len(s)*pct/100 + 8); err != nil {
			return nil, err
		}
	}
	return args[1], nil
}

func entries(args ...any) (any, error) {
	if rv := reflect.ValueOf(args[1]); rv.Kind() == reflect.Map {
		if rv.Len() > MaxEvalBytes/entryBytes {
			return nil, errBytes
		}
		if err := meterOf(args[0]).charge(rv.Len() * entryBytes); err != nil {
			return nil, err
		}
	}
	return args[1], nil
}

func meterOf(arg any) *meter {
	m, _ := arg.(*meter)
	if m == nil {
		panic("conditions: evaluation without a meter")
	}
	return m
}

var meterType = reflect.TypeOf(&meter{})

// budgetFunctions are the functions the budget patch calls; each takes
// the evaluation's meter first.
func budgetFunctions() []expr.Option {
	return []expr.Option{
		expr.Function("__riposte_step", func(args ...any) (any, error) {
			return true, meterOf(args[0]).step(1)
		}, new(func(*meter) bool)),
		// __riposte_concat is + between two strings, __riposte_add + where
		// a side's type is only known at run time.
		expr.Function("__riposte_concat", add, new(func(*meter, string, string) string)),
		expr.Function("__riposte_add", add, new(func(*meter, any, any) any)),
		// __riposte_match_cost charges `s matches "constant"`,
		// __riposte_matches is matches with a pattern that is not one.
		expr.Function("__riposte_match_cost", matchCost, new(func(*meter, any, int) any)),
		expr.Function("__riposte_matches", matchDynamic, new(func(*meter, any, any) bool)),
		// __riposte_grow and __riposte_grow_str charge the string a
		// growBuiltins builtin is about to build from args[1] (args[2]
		// bytes per 100), and return it unchanged.
		// __riposte_scan and __riposte_scan_str charge the list or string
		// a scanning builtin (scanBuiltins, contains) reads.
		expr.Function("__riposte_scan", scan, new(func(*meter, any) any)),
		expr.Function("__riposte_scan_str", scan, new(func(*meter, string) string)),
		// __riposte_scan_list charges a list the expression built (a
		// range, sort, map, filter, concat, split: its type is known),
		// keeping that type: expr charged its memory once, where it was
		// built, not each scan of it.
		expr.Function("__riposte_scan_list", scan, new(func(*meter, []any) []any), new(func(*meter, []int) []int),
			new(func(*meter, []float64) []float64), new(func(*meter, []string) []string)),
		expr.Function("__riposte_grow", grow, new(func(*meter, any, int) any)),
		expr.Function("__riposte_grow_str", grow, new(func(*meter, string, int) string)),
		// __riposte_entries and __riposte_entries_map charge the entries
		// of the map keys() or values() is about to list.
		expr.Function("__riposte_entries", entries, new(func(*meter, any) any)),
		expr.Function("__riposte_entries_map", entries, new(func(*meter, map[string]any) map[string]any)),
		// __riposte_equal is == between two values that may be lists or
		// maps (expr's runtime.Equal, reflect.DeepEqual for them: a scan of
		// both), charged as a scan of the left one.
		expr.Function("__riposte_equal", func(args ...any) (any, error) {
			if err := meterOf(args[0]).chargeCompare(args[1], args[2]); err != nil {
				return nil, err
			}
			return runtime.Equal(args[1], args[2]), nil
		}, new(func(*meter, any, any) bool)),
		expr.Function("__riposte_in", func(args ...any) (any, error) {
			m := meterOf(args[0])
			rv := reflect.ValueOf(args[2])
			if k := rv.Kind(); k == reflect.Slice || k == reflect.Array {
				if err := m.step(rv.Len()); err != nil {
					return nil, err
				}
				// A list or map looked for is compared with each element
				// as == compares them.
				if isContainer(args[1]) {
					for i := 0; i < rv.Len(); i++ {
						if err := m.chargeCompare(args[1], rv.Index(i).Interface()); err != nil {
							return nil, err
						}
					}
				}
			}
			return runtime.In(args[1], args[2]), nil
		}, new(func(*meter, any, any) bool)),
		// __riposte_uniq is uniq: expr's compares every element with each
		// one kept (quadratic, uncharged).
		expr.Function("__riposte_uniq", func(args ...any) (any, error) {
			return uniq(meterOf(args[0]), args[1])
		}, new(func(*meter, any) []any)),
		// __riposte_glob is glob, its backtracking charged.
		expr.Function("__riposte_glob", func(args ...any) (any, error) {
			pattern, ok1 := args[1].(string)
			s, ok2 := args[2].(string)
			if !ok1 || !ok2 {
				return false, nil
			}
			return globMetered(pattern, s, meterOf(args[0]))
		}, new(func(*meter, string, string) bool)),
		// __riposte_split and __riposte_splitAfter are split and
		// splitAfter, charged 16 bytes (a string header) per piece before
		// the pieces are made: their bytes are the string's, the headers
		// are new.
		expr.Function("__riposte_split", func(args ...any) (any, error) {
			return split(meterOf(args[0]), "split", args[1:], strings.SplitN)
		}, new(func(*meter, string, string) []string), new(func(*meter, string, string, int) []string)),
		expr.Function("__riposte_splitAfter", func(args ...any) (any, error) {
			return split(meterOf(args[0]), "splitAfter", args[1:], strings.SplitAfterN)
		}, new(func(*meter, string, string) []string), new(func(*meter, string, string, int) []string)),
		// __riposte_fromJSON is fromJSON, charged its text before decoding
		// and the value it decodes after: a []any per 3 bytes of "[],"
		// text is 40 bytes of memory.
		expr.Function("__riposte_fromJSON", func(args ...any) (any, error) {
			m := meterOf(args[0])
			s, _ := args[1].(string)
			if err := m.charge(len(s)); err != nil {
				return nil, err
			}
			var v any
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				return nil, err
			}
			return v, m.chargeValue(v)
		}, new(func(*meter, string) any)),
		// __riposte_trim is trim(s, cutset) in time linear in both.
		expr.Function("__riposte_trim", func(args ...any) (any, error) {
			s, _ := args[1].(string)
			cutset, _ := args[2].(string)
			return trimSet(s, cutset), nil
		}, new(func(*meter, string, string) string)),
		expr.Function("__riposte_repeat", func(args ...any) (any, error) {
			s, _ := args[1].(string)
			n := runtime.ToInt(args[2])
			if n < 0 {
				return nil, fmt.Errorf("repeat: the count must not be negative, got %d", n)
			}
			if n > 0 && len(s) > MaxEvalBytes/n {
				return nil, errBytes
			}
			if err := meterOf(args[0]).charge(len(s) * n); err != nil {
				return nil, err
			}
			return strings.Repeat(s, n), nil
		}, new(func(*meter, string, int) string)),
		expr.Function("__riposte_replace", func(args ...any) (any, error) {
			m := meterOf(args[0])
			s, _ := args[1].(string)
			old, _ := args[2].(string)
			repl, _ := args[3].(string)
			n := -1
			if len(args) == 5 {
				n = runtime.ToInt(args[4])
			}
			count := strings.Count(s, old)
			if old == "" {
				count = utf8.RuneCountInString(s) + 1
			}
			if n >= 0 && n < count {
				count = n
			}
			if len(repl) > 0 && count > MaxEvalBytes/len(repl) {
				return nil, errBytes
			}
			if err := m.charge(len(s) + count*len(repl)); err != nil {
				return nil, err
			}
			return strings.Replace(s, old, repl, n), nil
		}, new(func(*meter, string, string, string) string), new(func(*meter, string, string, string, int) string)),
		// __riposte_size charges the size of a value a builtin is about to
		// spell out or copy (toJSON, string, join, flatten, concat), and
		// returns it unchanged.
		expr.Function("__riposte_size", func(args ...any) (any, error) {
			return args[1], meterOf(args[0]).chargeValue(args[1])
		}, new(func(*meter, any) any)),
		// __riposte_json_size and __riposte_json_str charge what toJSON
		// may write for its argument (escapes included), a string one
		// keeping its type.
		expr.Function("__riposte_json_size", func(args ...any) (any, error) {
			return args[1], meterOf(args[0]).chargeJSON(args[1])
		}, new(func(*meter, any) any)),
		expr.Function("__riposte_json_str", func(args ...any) (any, error) {
			return args[1], meterOf(args[0]).chargeJSON(args[1])
		}, new(func(*meter, string) string)),
		// __riposte_join_size charges the copies of join's separator
		// (args[2]) between the elements of its list (args[1]), and
		// returns the list.
		expr.Function("__riposte_join_size", func(args ...any) (any, error) {
			m := meterOf(args[0])
			sep, _ := args[2].(string)
			rv := reflect.ValueOf(args[1])
			if k := rv.Kind(); (k == reflect.Slice || k == reflect.Array) && rv.Len() > 1 && len(sep) > 0 {
				n := rv.Len() - 1
				if n > MaxEvalBytes/len(sep) {
					return nil, errBytes
				}
				if err := m.charge(n * len(sep)); err != nil {
					return nil, err
				}
			}
			return args[1], nil
		}, new(func(*meter, any, string) any)),
	}
}

// scanBuiltins are the builtins that read the whole of a list or string
// argument (expr's len counts a string's runes, int and float parse every
// digit), in time linear in it (or n log n: median, sort).
var scanBuiltins = map[string]bool{
	"len": true, "sum": true, "mean": true, "median": true, "max": true, "min": true, "sort": true, "reverse": true,
	"fromPairs": true, "uniq": true, "indexOf": true, "lastIndexOf": true, "upper": true, "lower": true,
	"trim": true, "trimPrefix": true, "trimSuffix": true, "split": true, "splitAfter": true, "toBase64": true, "fromBase64": true,
	// A number or a duration parsed from a string: strconv and
	// time.ParseDuration read every digit ("000…1" is 1).
	"int": true, "float": true, "duration": true,
}

// What one step of the budget pays for of a scan: list elements (sum of
// []any takes about 76 ns an element, median more) and string bytes
// (counting runes about 1 ns a byte).
const (
	scanElemsPerStep = 4
	scanBytesPerStep = 256
)

// scanned wraps a (a list, string or unknown argument of a scanning
// builtin) in the call that charges its size, once.
func scanned(a ast.Node) ast.Node {
	if hasWrapper(a, "__riposte_scan", "__riposte_scan_str", "__riposte_scan_list") {
		return a
	}
	t := a.Type()
	if !isKind(t, reflect.String, reflect.Slice, reflect.Array, reflect.Map, reflect.Interface) {
		return a
	}
	if t != nil && t.Kind() == reflect.String {
		return call("__riposte_scan_str", a)
	}
	if t != nil && t.Kind() == reflect.Slice && scanListTypes[t] {
		// Built by the expression (a range, sort, map, filter, a let of
		// one): built once, perhaps scanned in every iteration of a loop.
		return call("__riposte_scan_list", a)
	}
	if t != nil && t.Kind() != reflect.Interface {
		return a // a map (len is constant time), a list of another type
	}
	return call("__riposte_scan", a)
}

// hasWrapper reports whether a is, or wraps (as the value argument of
// Riposte's charging calls), a call of one of names.
func hasWrapper(a ast.Node, names ...string) bool {
	for {
		c, ok := a.(*ast.CallNode)
		if !ok {
			return false
		}
		id, ok := c.Callee.(*ast.IdentifierNode)
		if !ok || !strings.HasPrefix(id.Value, "__riposte_") || len(c.Arguments) < 2 {
			return false
		}
		for _, n := range names {
			if id.Value == n {
				return true
			}
		}
		a = c.Arguments[1]
	}
}

// scanListTypes are the list types __riposte_scan_list keeps.
var scanListTypes = map[reflect.Type]bool{
	reflect.TypeOf([]any{}): true, reflect.TypeOf([]int{}): true,
	reflect.TypeOf([]float64{}): true, reflect.TypeOf([]string{}): true,
}

// chargeCompare charges == between a and b when both are lists or maps
// (reflect.DeepEqual then compares them element by element, nested ones
// included): a step per scanElemsPerStep elements and per
// scanBytesPerStep string bytes of a, the walk stopping once over the
// budget, so what it charges is at most the budget's worth of work.
func (m *meter) chargeCompare(a, b any) error {
	if !isContainer(a) || !isContainer(b) {
		return nil
	}
	elems, bytes := 0, 0
	limit := m.steps*scanElemsPerStep + scanElemsPerStep
	var walk func(v reflect.Value) bool
	walk = func(v reflect.Value) bool {
		for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
			if v.IsNil() {
				return true
			}
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.String:
			bytes += v.Len()
		case reflect.Slice, reflect.Array:
			elems += v.Len()
			for i := 0; i < v.Len() && elems+bytes/scanBytesPerStep*scanElemsPerStep <= limit; i++ {
				if !walk(v.Index(i)) {
					return false
				}
			}
		case reflect.Map:
			elems += v.Len()
			it := v.MapRange()
			for it.Next() && elems+bytes/scanBytesPerStep*scanElemsPerStep <= limit {
				if !walk(it.Value()) {
					return false
				}
			}
		}
		return elems+bytes/scanBytesPerStep*scanElemsPerStep <= limit
	}
	if !walk(reflect.ValueOf(a)) {
		return m.step(-1)
	}
	return m.step(elems/scanElemsPerStep + bytes/scanBytesPerStep)
}

// isContainer reports whether v is a list or a map.
func isContainer(v any) bool {
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return true
	}
	return false
}

// scan charges the size of args[1] and returns it.
func scan(args ...any) (any, error) {
	m := meterOf(args[0])
	switch v := args[1].(type) {
	case string:
		// args[1], not v: v would be boxed again, an allocation a scan.
		return args[1], m.step(len(v) / scanBytesPerStep)
	case nil:
		return nil, nil
	}
	if rv := reflect.ValueOf(args[1]); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array || rv.Kind() == reflect.Map {
		if err := m.step(rv.Len() / scanElemsPerStep); err != nil {
			return nil, err
		}
	}
	return args[1], nil
}

// growBuiltins are the builtins that build a string from one string, with
// the most bytes they write per 100 bytes of it: upper and lower may
// change a rune's length (U+023F, 2 bytes, upper-cases to 3), toBase64
// writes 4 for 3, fromBase64 decodes then copies.
var growBuiltins = map[string]int{"upper": 150, "lower": 150, "toBase64": 134, "fromBase64": 150}

// entryBytes is what keys() and values() charge per entry of the map:
// the sorted keys they build and the list they return.
const entryBytes = 64

// sizedBuiltins are the builtins whose output may be far larger than the
// memory expr charged for their input.
var sizedBuiltins = map[string]bool{"toJSON": true, "string": true, "join": true, "flatten": true, "concat": true}

// budgetPatch routes every loop and every growing operation of an
// expression through the meter.
type budgetPatch struct{}

func meterIdent() ast.Node {
	n := &ast.IdentifierNode{Value: meterName}
	n.SetType(meterType)
	return n
}

func call(name string, args ...ast.Node) *ast.CallNode {
	return &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: append([]ast.Node{meterIdent()}, args...)}
}

func isNumeric(t reflect.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func isKind(t reflect.Type, kinds ...reflect.Kind) bool {
	if t == nil {
		return true // unknown
	}
	for _, k := range kinds {
		if t.Kind() == k {
			return true
		}
	}
	return false
}

func (budgetPatch) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.PredicateNode:
		if s, ok := n.Node.(*ast.SequenceNode); ok && len(s.Nodes) == 2 {
			if c, ok := s.Nodes[0].(*ast.CallNode); ok {
				if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == "__riposte_step" {
					return // already patched
				}
			}
		}
		n.Node = &ast.SequenceNode{Nodes: []ast.Node{call("__riposte_step"), n.Node}}
	case *ast.BinaryNode:
		switch n.Operator {
		case "+":
			lt, rt := n.Left.Type(), n.Right.Type()
			if isNumeric(lt) && isNumeric(rt) {
				return
			}
			switch {
			case lt != nil && rt != nil && lt.Kind() == reflect.String && rt.Kind() == reflect.String:
				ast.Patch(node, call("__riposte_concat", n.Left, n.Right))
			case isKind(lt, reflect.String, reflect.Interface) && isKind(rt, reflect.String, reflect.Interface):
				ast.Patch(node, call("__riposte_add", n.Left, n.Right))
			}
		case "==", "!=":
			// Two lists or maps are compared element by element: charged
			// (chargeCompare). A side of a known other type (a string, a
			// number, nil) keeps expr's own comparison.
			if _, ok := n.Left.(*ast.NilNode); ok {
				return
			}
			if _, ok := n.Right.(*ast.NilNode); ok {
				return
			}
			if !isKind(n.Left.Type(), reflect.Interface, reflect.Slice, reflect.Array, reflect.Map) ||
				!isKind(n.Right.Type(), reflect.Interface, reflect.Slice, reflect.Array, reflect.Map) {
				return
			}
			// Not ast.Patch: a node with its type already set is not
			// checked again, and its operands must be (an unknown name
			// among them is an error).
			c := call("__riposte_equal", n.Left, n.Right)
			c.SetLocation(n.Location())
			var eq ast.Node = c
			if n.Operator == "!=" {
				eq = &ast.UnaryNode{Operator: "!", Node: c}
				eq.SetLocation(n.Location())
			}
			*node = eq
		case "contains":
			n.Left = scanned(n.Left)
		case "in":
			if isKind(n.Right.Type(), reflect.Slice, reflect.Array, reflect.Interface) {
				ast.Patch(node, call("__riposte_in", n.Left, n.Right))
			}
		case "matches":
			// A constant pattern stays expr's, compiled once; its match is
			// charged on the left. Another is compiled and charged at
			// evaluation (regexp.go).
			if !isKind(n.Left.Type(), reflect.String, reflect.Interface) || isCall(n.Left, "__riposte_match_cost") {
				return
			}
			if s, ok := n.Right.(*ast.StringNode); ok {
				size, err := regexpSize(s.Value)
				if err != nil {
					return // the checker reports it
				}
				insts := &ast.IntegerNode{Value: size}
				insts.SetType(reflect.TypeOf(0))
				n.Left = call("__riposte_match_cost", n.Left, insts)
				return
			}
			if isKind(n.Right.Type(), reflect.String, reflect.Interface) {
				ast.Patch(node, call("__riposte_matches", n.Left, n.Right))
			}
		}
	case *ast.CallNode:
		if isCall(n, "glob") && len(n.Arguments) == 2 {
			ast.Patch(node, call("__riposte_glob", n.Arguments...))
		}
		// keys and values build a list of the map's entries (sorted):
		// charged per entry.
		if (isCall(n, "keys") || isCall(n, "values")) && len(n.Arguments) == 1 && !isCall(n.Arguments[0], "__riposte_entries") &&
			!isCall(n.Arguments[0], "__riposte_entries_map") {
			a := n.Arguments[0]
			name := "__riposte_entries"
			if t := a.Type(); t != nil && t.Kind() == reflect.Map {
				name = "__riposte_entries_map"
			}
			n.Arguments[0] = call(name, a)
		}
	case *ast.BuiltinNode:
		if scanBuiltins[n.Name] {
			// The whole list or string is scanned: charged by its size.
			for i, a := range n.Arguments {
				n.Arguments[i] = scanned(a)
			}
		}
		switch {
		case growBuiltins[n.Name] > 0 && len(n.Arguments) == 1:
			// A new string as long as the argument (or longer): charged
			// before it is built.
			a := n.Arguments[0]
			if hasWrapper(a, "__riposte_grow", "__riposte_grow_str") || !isKind(a.Type(), reflect.String, reflect.Interface) {
				return
			}
			pct := &ast.IntegerNode{Value: growBuiltins[n.Name]}
			pct.SetType(reflect.TypeOf(0))
			name := "__riposte_grow"
			if t := a.Type(); t != nil && t.Kind() == reflect.String {
				name = "__riposte_grow_str"
			}
			n.Arguments[0] = call(name, a, pct)
		case n.Name == "uniq" && len(n.Arguments) == 1:
			ast.Patch(node, call("__riposte_uniq", n.Arguments...))
		case (n.Name == "split" || n.Name == "splitAfter") && (len(n.Arguments) == 2 || len(n.Arguments) == 3):
			ast.Patch(node, call("__riposte_"+n.Name, n.Arguments...))
		case n.Name == "trim" && len(n.Arguments) == 2:
			ast.Patch(node, call("__riposte_trim", n.Arguments...))
		case n.Name == "fromJSON" && len(n.Arguments) == 1:
			ast.Patch(node, call("__riposte_fromJSON", n.Arguments...))
		case n.Name == "repeat" && len(n.Arguments) == 2:
			ast.Patch(node, call("__riposte_repeat", n.Arguments...))
		case n.Name == "replace" && (len(n.Arguments) == 3 || len(n.Arguments) == 4):
			ast.Patch(node, call("__riposte_replace", n.Arguments...))
		case sizedBuiltins[n.Name]:
			if n.Name == "join" && len(n.Arguments) == 2 && !isCall(unsized(n.Arguments[0]), "__riposte_join_size") &&
				isKind(n.Arguments[0].Type(), reflect.Slice, reflect.Array, reflect.Interface) &&
				isKind(n.Arguments[1].Type(), reflect.String, reflect.Interface) {
				// The separator is copied between every two elements.
				n.Arguments[0] = call("__riposte_join_size", n.Arguments[0], n.Arguments[1])
			}
			for i, a := range n.Arguments {
				if n.Name == "toJSON" {
					switch {
					case isCall(a, "__riposte_json_size"), isCall(a, "__riposte_json_str"):
					case a.Type() != nil && a.Type().Kind() == reflect.String:
						n.Arguments[i] = call("__riposte_json_str", a)
					case isKind(a.Type(), reflect.Interface, reflect.Slice, reflect.Array, reflect.Map, reflect.Pointer):
						n.Arguments[i] = call("__riposte_json_size", a)
					}
					continue
				}
				// Scalars are their own size; wrapping them would only hide
				// their type from the checker (join(1) must stay an error).
				if !isKind(a.Type(), reflect.Interface, reflect.Slice, reflect.Array, reflect.Map, reflect.Pointer) {
					continue
				}
				if c, ok := a.(*ast.CallNode); ok {
					if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == "__riposte_size" {
						continue
					}
				}
				n.Arguments[i] = call("__riposte_size", a)
			}
		}
	}
}

// isCall reports whether n is a call of the function name.
func isCall(n ast.Node, name string) bool {
	c, ok := n.(*ast.CallNode)
	if !ok {
		return false
	}
	id, ok := c.Callee.(*ast.IdentifierNode)
	return ok && id.Value == name
}

// unsized is n without its __riposte_size wrapper.
func unsized(n ast.Node) ast.Node {
	if c, ok := n.(*ast.CallNode); ok && isCall(c, "__riposte_size") && len(c.Arguments) == 2 {
		return c.Arguments[1]
	}
	return n
}

// uniqKeptBytes is what uniq charges for each string or number it keeps:
// its place in the list returned and in the set that finds it again.
const uniqKeptBytes = 48

// uniq is expr's uniq (the elements of list, each kept once, in order,
// equal as expr's == says) in time linear in the list for strings and
// numbers, which are looked up by value. Other values (lists, maps, bools,
// nil, times) are compared with each other value kept, one step of the
// budget per comparison.
func uniq(m *meter, list any) ([]any, error) {
	rv := reflect.ValueOf(list)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return nil, fmt.Errorf("cannot uniq %s", k)
	}
	ret := []any{}
	strs := map[string]bool{}
	nums := map[float64][]any{} // by value as a float64; == decides within
	var others []any
	has := func(kept []any, x any) (bool, error) {
		for _, y := range kept {
			if err := m.step(1); err != nil {
				return false, err
			}
			if runtime.Equal(x, y) {
				return true, nil
			}
		}
		return false, nil
	}
	for i := 0; i < rv.Len(); i++ {
		x := rv.Index(i).Interface()
		// Each element kept: its place in the list returned and, for
		// strings and numbers, in the set that finds it again.
		if s, ok := x.(string); ok {
			if strs[s] {
				continue
			}
			if err := m.charge(uniqKeptBytes); err != nil {
				return nil, err
			}
			strs[s] = true
			ret = append(ret, x)
			continue
		}
		if f, ok := numberKey(x); ok {
			if f != f { // NaN equals nothing
				ret = append(ret, x)
				continue
			}
			dup, err := has(nums[f], x)
			if err != nil {
				return nil, err
			}
			if !dup {
				if err := m.charge(uniqKeptBytes); err != nil {
					return nil, err
				}
				nums[f] = append(nums[f], x)
				ret = append(ret, x)
			}
			continue
		}
		dup, err := has(others, x)
		if err != nil {
			return nil, err
		}
		if !dup {
			if err := m.charge(16); err != nil {
				return nil, err
			}
			others = append(others, x)
			ret = append(ret, x)
		}
	}
	return ret, nil
}

// numberKey is x as a float64 when x is one of Go's numbers, which expr's
// == compares by value (1 == 1.0).
func numberKey(x any) (float64, bool) {
	switch v := x.(type) {
	case int:
		return float64(v), true
	case int8:
		return float64(v), true
	case int16:
		return float64(v), true
	case int32:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint:
		return float64(v), true
	case uint8:
		return float64(v), true
	case uint16:
		return float64(v), true
	case uint32:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// globMetered is Glob for an expression: the steps past a linear scan of
// the pattern and the string (a star retried at a later position) are
// charged to m, and the match gives up when they are over its budget.
func globMetered(pattern, s string, m *meter) (bool, error) {
	p, str := globFold(pattern), globFold(s)
	free := 2*len(str) + len(p) + 1
	match, n := globRunes(p, str, free+m.steps)
	if n > free {
		if err := m.step(n - free); err != nil {
			return false, err
		}
	}
	return match, nil
}

// split is expr's split or splitAfter (splitN: strings.SplitN or
// strings.SplitAfterN) of args (s, sep[, n]), charging the string header
// of each piece before making them.
func split(m *meter, name string, args []any, splitN func(s, sep string, n int) []string) (any, error) {
	// expr's split fails on a value that is not a string (a field the
	// detection lacks, a number): it is not split as "".
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("%s: the value to split is %s, not a string", name, describe(args[0]))
	}
	sep, ok := args[1].(string)
	if !ok {
		return nil, fmt.Errorf("%s: the separator is %s, not a string", name, describe(args[1]))
	}
	n := -1
	if len(args) == 3 {
		n = runtime.ToInt(args[2])
	}
	pieces := strings.Count(s, sep) + 1
	if sep == "" {
		pieces = utf8.RuneCountInString(s)
	}
	if n >= 0 && n < pieces {
		pieces = n
	}
	if pieces > MaxEvalBytes/16 {
		return nil, errBytes
	}
	if err := m.charge(16 * pieces); err != nil {
		return nil, err
	}
	return splitN(s, sep, n), nil
}

// trimSet is strings.Trim(s, cutset), which looks each rune of s up in
// all of a cutset that is not ASCII (len(s) * len(cutset) bytes scanned),
// with the cutset made a set first. A byte of s that is not UTF-8 is
// trimmed when the cutset holds U+FFFD or such a byte, as with
// strings.Trim.
func trimSet(s, cutset string) string {
	if s == "" || cutset == "" || len(cutset) <= 64 {
		return strings.Trim(s, cutset)
	}
	set := map[rune]bool{}
	for _, r := range cutset {
		set[r] = true
	}
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !set[r] {
			break
		}
		i += n
	}
	s = s[i:]
	j := len(s)
	for j > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:j])
		if !set[r] {
			break
		}
		j -= n
	}
	return s[:j]
}

// describe names the type of a value that is not what a function takes:
// nil is a field the detection lacks.
func describe(v any) string {
	if v == nil {
		return "nil (a field the detection lacks?)"
	}
	return fmt.Sprintf("a %T", v)
}
