//go:build unix

package conditions

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// allocCases each build a value far larger than memory from a few bytes
// of expression, past expr's memory budget (which charges repeat's result
// only after allocating it, and not string concatenation, replace, joins
// or the serialization of a list that holds the same list many times).
var allocCases = []struct{ name, src string }{
	{"repeat", `len(repeat(repeat("x", 999999), 999999))`},
	{"concat", `len(reduce(1..40, #acc + #acc, "x"))`},
	{"replace", `let a = repeat("x", 1000); len(replace(replace(repeat("x", 990000), "x", a), "x", a))`},
	{"toJSON", `len(toJSON(reduce(1..40, [#acc, #acc], 1)))`},
	{"string", `len(string(reduce(1..40, [#acc, #acc], 1)))`},
	{"flatten", `len(flatten(reduce(1..40, [#acc, #acc], [1])))`},
	{"join", `len(join(reduce(1..25, concat(#acc, #acc), [repeat("x", 100000)]), ""))`},
	{"template", `${{ reduce(1..40, [#acc, #acc], 1) }} rendered`},
	// join's separator, a string, was not charged: 99 copies of 15 MB.
	{"join-separator", `len(join(map(1..100, ""), repeat("x", 15000000)))`},
	// toJSON writes each < as \u003c (6 bytes) and each \ as \\: a string
	// argument was not charged at all, and nested calls multiply it.
	// split and splitAfter build a 16-byte string header per piece, none
	// charged: split(s, "") of a 15 MB string is 240 MB, and a list of
	// them holds all at once.
	{"split", `let s = repeat("a", 15000000); len([split(s, ""), split(s, ""), split(s, ""), split(s, ""), split(s, ""), split(s, ""), split(s, ""), split(s, ""), split(s, ""), split(s, "")])`},
	{"splitAfter", `let s = repeat(",", 15000000); len([splitAfter(s, ","), splitAfter(s, ","), splitAfter(s, ","), splitAfter(s, ","), splitAfter(s, ","), splitAfter(s, ","), splitAfter(s, ","), splitAfter(s, ","), splitAfter(s, ","), splitAfter(s, ",")])`},
	// fromJSON makes a []any per "[]": 3 bytes of text, 40 of memory.
	{"fromJSON", `let s = "[" + repeat("[],", 1500000) + "[]]"; len([fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s), fromJSON(s)])`},
	{"toJSON-escapes", `len(toJSON(toJSON(toJSON(toJSON(toJSON(toJSON(toJSON(toJSON(repeat("<", 2000000))))))))))`},
}

const allocChildEnv = "RIPOSTE_TEST_ALLOC_CASE"

// TestEvalAllocationsBounded runs each case in a child process whose
// address space is capped at 2 GiB, so that a case that does allocate
// without bound fails the test instead of the machine.
func TestEvalAllocationsBounded(t *testing.T) {
	if c := os.Getenv(allocChildEnv); c != "" {
		allocChild(c)
		return
	}
	for _, tc := range allocCases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestEvalAllocationsBounded$", "-test.timeout=60s")
			cmd.Env = append(os.Environ(), allocChildEnv+"="+tc.name)
			out, err := cmd.CombinedOutput()
			s := string(out)
			if err != nil {
				first := s
				if i := strings.Index(first, "\n"); i >= 0 && strings.Contains(first, "fatal error") {
					first = first[:i]
				}
				if len(first) > 300 {
					first = first[:300]
				}
				t.Fatalf("%s: evaluating crashed the process (%v): %s", tc.src, err, first)
			}
			if !strings.Contains(s, "RESULT error:") {
				t.Fatalf("%s: evaluated without an error: %s", tc.src, s)
			}
		})
	}
}

func allocChild(name string) {
	lim := &syscall.Rlimit{Cur: 2 << 30, Max: 2 << 30}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(3)
	}
	for _, tc := range allocCases {
		if tc.name != name {
			continue
		}
		var err error
		if IsTemplate(tc.src) {
			var tm *Template
			if tm, err = CompileTemplate(tc.src, ScopeVars); err == nil {
				_, err = tm.Render((&Env{}).Map())
			}
		} else {
			var p *Program
			if p, err = Compile(tc.src, ScopeVars, false); err == nil {
				_, err = p.Eval((&Env{}).Map())
			}
		}
		if err != nil {
			fmt.Println("RESULT error:", err)
		} else {
			fmt.Println("RESULT ok")
		}
		os.Exit(0)
	}
	os.Exit(4)
}
