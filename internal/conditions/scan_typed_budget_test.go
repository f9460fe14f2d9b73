package conditions

import (
	"strings"
	"testing"
	"time"
)

// The scans of builtins (sum, max, median, sort, reverse, indexOf, ...)
// are charged only when the list's type is unknown at compile time (a
// field of the detection); a list the expression built itself (sort, map,
// filter, concat, a let of one) has a static type and was left free,
// "its size is expr's memory": but expr charges that memory once, where
// the list is built, and the scan every time. Built once and scanned in a
// loop, the detection's 65,536 numbers cost what TestEvalScansCharged
// refuses: `let b = sort(detection.nums); any(1..1000, any(1..1000,
// sum(b) < 0))` is the same hour of work.
func TestEvalScansOfBuiltListsCharged(t *testing.T) {
	nums := make([]any, 1<<16)
	for i := range nums {
		nums[i] = float64(i)
	}
	env := (&Env{Detection: map[string]any{"nums": nums}}).Map()
	for _, src := range []string{
		`let b = sort(detection.nums); any(1..1000, any(1..1000, sum(b) < 0))`,
		`let b = filter(detection.nums, true); any(1..1000, any(1..1000, max(b) < 0))`,
		`let b = map(1..65536, #); any(1..1000, any(1..1000, median(b) < 0))`,
		`let b = concat(detection.nums); any(1..1000, any(1..1000, sum(b) < 0))`,
	} {
		type result struct {
			err error
			d   time.Duration
		}
		done := make(chan result, 1)
		p, err := Compile(src, ScopeStep, false)
		if err != nil {
			t.Fatalf("%s: compile: %v", src, err)
		}
		go func() {
			start := time.Now()
			_, err := p.Eval(env)
			done <- result{err, time.Since(start)}
		}()
		select {
		case r := <-done:
			if r.err == nil || !strings.Contains(r.err.Error(), "too expensive") {
				t.Errorf("%s: %v after %s, want the budget's error", src, r.err, r.d.Round(time.Millisecond))
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: still running after a minute (a million scans of 65,536 numbers, uncharged)", src)
		}
	}
}
