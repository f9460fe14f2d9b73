package conditions

import (
	"strings"
	"testing"
	"time"
)

// README: every evaluation is bounded, at most 1,000,000 loop iterations,
// "about a quarter of a second of work". The budget counted iterations
// but not the work inside one: builtins that scan a whole list or string
// (sum, max, median, len of a string, which counts its runes, indexOf,
// contains, trim, split, uniq) were free, so on a 65,536-number list of a
// detection `any(1..2000, sum(detection.nums) < 0)` took 10 s, and the
// same a million times (two loops of 1,000) an hour, pinning a workflow task or an intake
// request. A scan is charged by the size of what it scans.
func TestEvalScansCharged(t *testing.T) {
	nums := make([]any, 1<<16)
	for i := range nums {
		nums[i] = float64(i)
	}
	env := (&Env{Detection: map[string]any{"nums": nums, "blob": strings.Repeat("x", 1<<20)}}).Map()
	for _, src := range []string{
		`any(1..1000, any(1..1000, sum(detection.nums) < 0))`,
		`any(1..1000, any(1..1000, max(detection.nums) < 0))`,
		`any(1..1000, any(1..1000, median(detection.nums) < 0))`,
		`any(1..1000, any(1..1000, len(detection.blob) < 0))`,
		`any(1..1000, any(1..1000, indexOf(detection.blob, "y") > 0))`,
		`any(1..1000, any(1..1000, detection.blob contains "y"))`,
		`any(1..1000, any(1..1000, len(split(detection.blob, "y")) > 1))`,
		`any(1..1000, any(1..1000, len(uniq(detection.nums)) < 0))`,
	} {
		start := time.Now()
		_, err := evalWithin(t, src, env, time.Minute)
		if err == nil || !strings.Contains(err.Error(), "too expensive") {
			t.Errorf("%s: %v after %s, want the budget's error", src, err, time.Since(start).Round(time.Millisecond))
		}
	}
	// Scans of ordinary sizes cost little of the budget.
	for src, want := range map[string]any{
		`sum(detection.nums[0:10])`:              45.0,
		`len(detection.blob)`:                    1 << 20,
		`all(1..1000, len("hostname-01") == 11)`: true,
		`max(3, 7)`:                              7,
		`"a,b" contains ","`:                     true,
	} {
		v, err := evalWithin(t, src, env, 5*time.Second)
		if err != nil || v != want {
			t.Errorf("%s = %v (%T), %v; want %v", src, v, v, err, want)
		}
	}
}
