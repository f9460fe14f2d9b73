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
		if _, err := evalWithin(t, src, env, time.Minute); err == nil || !strings.Contains(err.Error(), "too expensive") {
			t.Errorf("%s: %v, want the budget's error", src, err)
		}
	}
}
