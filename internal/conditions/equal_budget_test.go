package conditions

import (
	"strings"
	"testing"
	"time"
)

// == and != between two lists or maps compare them element by element
// (expr's runtime.Equal: reflect.DeepEqual), a scan of both as long as
// sum(list) is, and the scan budget (TestEvalScansCharged) did not charge
// it: two equal 65,536-number lists of a detection (a 1 MiB body holds
// both) compared in two loops of 1,000 are 65 billion comparisons, as the
// hour of work the scan budget was written to refuse. Such a comparison
// is charged like the other scans of the same values.
func TestEvalListEqualityCharged(t *testing.T) {
	nums := make([]any, 1<<16)
	nums2 := make([]any, 1<<16)
	for i := range nums {
		nums[i] = float64(i)
		nums2[i] = float64(i)
	}
	env := (&Env{Detection: map[string]any{"nums": nums, "nums2": nums2}}).Map()
	for _, src := range []string{
		`any(1..1000, any(1..1000, detection.nums != detection.nums2))`,
		`any(1..1000, any(1..1000, detection.nums == []))`,
		`let b = detection.nums2; any(1..1000, any(1..1000, detection.nums != b))`,
		`any(1..1000, any(1..1000, !(detection.nums in [detection.nums2])))`,
	} {
		if _, err := evalWithin(t, src, env, time.Minute); err == nil || !strings.Contains(err.Error(), "too expensive") {
			t.Errorf("%s: %v, want the budget's error", src, err)
		}
	}
}

// The charged == answers as expr's.
func TestEvalEqualityUnchanged(t *testing.T) {
	env := (&Env{Detection: map[string]any{
		"a": []any{1.0, "x", map[string]any{"k": []any{true}}}, "b": []any{1.0, "x", map[string]any{"k": []any{true}}},
		"c": []any{1.0, "y"}, "m": map[string]any{"k": 1.0}, "n": map[string]any{"k": 1.0}, "s": "x", "t": "x", "f": 1.0,
	}}).Map()
	for src, want := range map[string]bool{
		`detection.a == detection.b`: true, `detection.a != detection.b`: false, `detection.a == detection.c`: false,
		`detection.a != detection.c`: true, `detection.m == detection.n`: true, `detection.s == detection.t`: true,
		`detection.s != detection.t`: false, `detection.f == 1`: true, `detection.nope == nil`: true,
		`detection.a == nil`: false, `[1, 2] == [1, 2]`: true, `detection.s == detection.f`: false,
		`any(detection.a, # == detection.s)`: true, `detection.nope == detection.nada`: true,
		`detection.a in [detection.c, detection.b]`: true, `detection.a in [detection.c]`: false, `"x" in detection.a`: true,
	} {
		v, err := evalWithin(t, src, env, 5*time.Second)
		if err != nil || v != want {
			t.Errorf("%s = %v, %v; want %v", src, v, err, want)
		}
	}
}
