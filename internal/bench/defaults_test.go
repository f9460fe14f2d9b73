package bench

import (
	"strings"
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
		{"Decide (unset)", o.Decide, DecideAsync},
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

// TestDecideFlag: --decide takes async or update and refuses anything else
// with the values it takes.
func TestDecideFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		err  string
	}{
		{nil, "", ""},
		{[]string{"--decide", "update"}, DecideUpdate, ""},
		{[]string{"--decide", "async"}, DecideAsync, ""},
		{[]string{"--decide", "signal"}, "", `--decide "signal": want async or update`},
	} {
		var stderr strings.Builder
		c, _, err := parseFlags("riposte bench", tc.args, &stderr)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(stderr.String(), tc.err)):
			t.Errorf("%v: error %v, stderr %q, want %q", tc.args, err, stderr.String(), tc.err)
		case tc.err == "" && (err != nil || c.Decide != tc.want):
			t.Errorf("%v: Decide %q (%v), want %q", tc.args, c.Decide, err, tc.want)
		}
	}
}
