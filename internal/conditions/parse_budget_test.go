package conditions

import (
	"strings"
	"testing"
	"time"
)

// int(s), float(s) and duration(s) read the whole string (strconv and
// time.ParseDuration go through every digit: a 1 MiB "000…1" is a valid
// 1), as len(s) does, and were outside the scan budget: 1.3 ms (int) and
// 3.5 ms (float) a call on a detection's 1 MiB field, so a million of
// them, two loops of 1,000, ran for about an hour. They are charged as
// the other scans of a string, a step per 256 bytes.
func TestEvalNumberParsingCharged(t *testing.T) {
	z := strings.Repeat("0", 1<<20-2) + "1"
	env := (&Env{Detection: map[string]any{"z": z, "d": z + "s"}}).Map()
	for _, src := range []string{
		`any(1..1000, any(1..1000, int(detection.z) < 0))`,
		`any(1..1000, any(1..1000, float(detection.z) < 0))`,
		`any(1..1000, any(1..1000, duration(detection.d) < duration("0s")))`,
	} {
		if _, err := evalWithin(t, src, env, time.Minute); err == nil || !strings.Contains(err.Error(), "too expensive") {
			t.Errorf("%s: %v, want the budget's error", src, err)
		}
	}
	// Ordinary values answer as before.
	for src, want := range map[string]any{
		`int("42")`: 42, `float("2.5")`: 2.5, `int(detection.z[0:3] + "7")`: 7, `int(3.9)`: 3, `float(2)`: 2.0,
		`duration("90s") == duration("1m30s")`: true,
	} {
		v, err := evalWithin(t, src, env, 5*time.Second)
		if err != nil || v != want {
			t.Errorf("%s = %v (%T), %v; want %v", src, v, v, err, want)
		}
	}
}
