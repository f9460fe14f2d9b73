package finding

import "testing"

// TestTimeUnitBoundaries: docs/detections.md says `time` is read by
// magnitude, < 10^11 seconds, < 10^14 milliseconds, < 10^17 microseconds,
// else nanoseconds; each boundary, on both sides, and what TimeMS makes
// of it (10^11 ms is 1973-03-03; 10^11-1 s is the year 5138).
func TestTimeUnitBoundaries(t *testing.T) {
	for _, c := range []struct {
		n    float64
		unit string
		ms   int64
	}{
		{99_999_999_999, "seconds", 99_999_999_999_000},
		{100_000_000_000, "milliseconds", 100_000_000_000},
		{99_999_999_999_999, "milliseconds", 99_999_999_999_999},
		{100_000_000_000_000, "microseconds", 100_000_000_000},
		{99_999_999_999_999_984, "microseconds", 99_999_999_999_999}, // float64 nearest to 10^17-1
		{1e17, "nanoseconds", 100_000_000_000},
		{-5, "seconds", -5000},
	} {
		if u := TimeUnit(c.n); u != c.unit {
			t.Errorf("TimeUnit(%.0f) = %s, want %s", c.n, u, c.unit)
		}
		if ms, ok := TimeMS(c.n); !ok || ms != c.ms {
			t.Errorf("TimeMS(%.0f) = %d %v, want %d", c.n, ms, ok, c.ms)
		}
	}
}
