package bench

import (
	"testing"
	"time"
)

// TestApplyDefaults: unset options take the defaults, explicit ones stay,
// a negative budget means none and a negative history sample reads none.
func TestApplyDefaults(t *testing.T) {
	d := Defaults(true)
	o := Options{Smoke: true, Concurrency: 3, Warmup: -time.Second, ParkBudget: -time.Second, ApproveBudget: 7 * time.Second, HistorySample: -1}
	o.applyDefaults()
	checks := []struct {
		name      string
		got, want any
	}{
		{"Concurrency (explicit)", o.Concurrency, 3},
		{"Warmup (negative)", o.Warmup, d.Warmup},
		{"Duration (unset)", o.Duration, d.Duration},
		{"Rounds (unset)", o.Rounds, d.Rounds},
		{"Playbooks (unset)", o.Playbooks, d.Playbooks},
		{"ParkBudget (negative: none)", o.ParkBudget, time.Duration(0)},
		{"ApproveBudget (explicit)", o.ApproveBudget, 7 * time.Second},
		{"CompleteBudget (unset)", o.CompleteBudget, d.CompleteBudget},
		{"HistorySample (negative: none)", o.HistorySample, -1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if len(o.Phases) == 0 || o.Logger == nil {
		t.Errorf("Phases %v, Logger %v: want the defaults", o.Phases, o.Logger)
	}
}
