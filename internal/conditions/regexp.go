package conditions

import (
	"fmt"
	"regexp"
	"regexp/syntax"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Bounds of `matches`. Go's regexp runs in time linear in the pattern's
// program and in the input, but the product is what a match costs: a
// 53-instruction pattern such as `(.*a){10}$` takes about 0.4 s on a
// 1 MB string, and nothing bounded the program (`(.*a){1000}` fifty times
// is 250,000 instructions, 88 s on a 100 KB field) or charged a pattern
// that is not a constant, compiled at every evaluation (up to 1.5 million
// instructions and 190 MB).
const (
	// MaxRegexpInsts bounds a pattern's program (its instructions, as
	// regexp/syntax compiles it, repetitions expanded): a constant
	// pattern over it does not compile, one that is not a constant fails
	// the evaluation.
	MaxRegexpInsts = 10_000
	// regexpInstBytesPerStep is how many (instruction, input byte) pairs
	// one step of MaxEvalSteps pays for: measured at up to 11 ns a pair
	// on a pattern whose every thread stays alive, so a step is about a
	// quarter of a microsecond, as for the other steps.
	regexpInstBytesPerStep = 32
	// regexpCompileSteps is what compiling one instruction costs, in
	// steps (about 1 µs an instruction).
	regexpCompileSteps = 4
)

// regexpSize parses pattern as `matches` does and estimates the
// instructions of its program without building it (repetitions are
// multiplied, not expanded), so a pattern over MaxRegexpInsts is refused
// before it costs anything.
func regexpSize(pattern string) (int, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, err
	}
	return instsOf(re) + 2, nil
}

func instsOf(re *syntax.Regexp) int {
	sum := func() int {
		n := 0
		for _, s := range re.Sub {
			n = capAdd(n, instsOf(s))
		}
		return n
	}
	switch re.Op {
	case syntax.OpLiteral:
		return max(len(re.Rune), 1)
	case syntax.OpConcat:
		return sum()
	case syntax.OpAlternate:
		return capAdd(sum(), len(re.Sub))
	case syntax.OpCapture:
		return capAdd(sum(), 2)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		return capAdd(sum(), 1)
	case syntax.OpRepeat:
		sub := sum()
		if re.Max < 0 {
			return capAdd(capMul(sub, re.Min), capAdd(sub, 1))
		}
		return capAdd(capMul(sub, re.Max), re.Max-re.Min)
	default:
		return 1
	}
}

func capAdd(a, b int) int { return min(a+b, 1<<40) }
func capMul(a, b int) int {
	if a != 0 && b > (1<<40)/a {
		return 1 << 40
	}
	return a * b
}

func errRegexpSize(n int) string {
	return fmt.Sprintf("the pattern is too large: about %d instructions once its repetitions are expanded, over the limit of %d (each match costs its size times its input)", n, MaxRegexpInsts)
}

// checkPatterns refuses, before expr compiles them, the constant
// patterns of `matches` over MaxRegexpInsts, at the pattern's position.
func checkPatterns(src string) *Error {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil // expr's compile says what is wrong
	}
	v := &patternVisitor{src: src}
	ast.Walk(&tree.Node, v)
	return v.err
}

type patternVisitor struct {
	src string
	err *Error
}

func (v *patternVisitor) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || b.Operator != "matches" || v.err != nil {
		return
	}
	s, ok := b.Right.(*ast.StringNode)
	if !ok {
		return
	}
	n, err := regexpSize(s.Value)
	if err != nil || n <= MaxRegexpInsts {
		return // an invalid pattern: expr's checker says how
	}
	line, col := position(v.src, byteOffset(v.src, s.Location().From))
	v.err = &Error{Line: line, Column: col, Msg: errRegexpSize(n)}
}

// chargeMatch charges a match of a program of insts instructions against
// s.
func (m *meter) chargeMatch(insts int, s string) error {
	return m.step(capMul(insts, len(s)+1)/regexpInstBytesPerStep + 1)
}

// matchCost is the left side of `s matches "constant"`: expr compiled the
// pattern once; each evaluation charges its match and leaves s as it is.
func matchCost(args ...any) (any, error) {
	insts, _ := args[2].(int)
	if s, ok := args[1].(string); ok {
		if err := meterOf(args[0]).chargeMatch(insts, s); err != nil {
			return nil, err
		}
	}
	return args[1], nil
}

// matchDynamic is `s matches pattern` when the pattern is not a constant:
// refused over MaxRegexpInsts, its compilation and its match charged.
func matchDynamic(args ...any) (any, error) {
	if args[1] == nil || args[2] == nil {
		return false, nil // as expr: a field the detection lacks matches nothing
	}
	s, ok := args[1].(string)
	if !ok {
		return nil, fmt.Errorf("matches: the value is %s, not a string", describe(args[1]))
	}
	pattern, ok := args[2].(string)
	if !ok {
		return nil, fmt.Errorf("matches: the pattern is %s, not a string", describe(args[2]))
	}
	m := meterOf(args[0])
	n, err := regexpSize(pattern)
	if err != nil {
		return nil, err
	}
	if n > MaxRegexpInsts {
		return nil, fmt.Errorf("matches: %s", errRegexpSize(n))
	}
	if err := m.step(n * regexpCompileSteps); err != nil {
		return nil, err
	}
	if err := m.chargeMatch(n, s); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return re.MatchString(s), nil
}
