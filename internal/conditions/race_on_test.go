//go:build race

package conditions

// raceEnabled: the race detector drops a quarter of what sync.Pool is
// given, so what a pooled evaluation allocates is not measured under it.
const raceEnabled = true
