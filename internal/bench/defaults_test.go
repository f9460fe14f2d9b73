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

// TestDocumentedDefaults: the defaults README and issue #18 name — a burst
// of 500 (`--burst`), 10,000 parked approved within 60 s, every phase —
// are what a bare `riposte bench` runs.
func TestDocumentedDefaults(t *testing.T) {
	var stderr strings.Builder
	c, _, err := parseFlags("riposte bench", nil, &stderr)
	if err != nil {
		t.Fatalf("parseFlags: %v (%s)", err, stderr.String())
	}
	o := c.Options
	o.applyDefaults()
	if o.Burst != 500 || o.Parked != 10000 || o.ApproveBudget != 60*time.Second || strings.Join(o.Phases, ",") != strings.Join(AllPhases, ",") {
		t.Errorf("bare riposte bench: burst %d, parked %d, approve budget %s, phases %v; README says 500, 10000, 60s, all", o.Burst, o.Parked, o.ApproveBudget, o.Phases)
	}
	if !strings.Contains(usageOf(t), "(default 500)") {
		t.Error("--help does not say the burst's default of 500")
	}
}

func usageOf(t *testing.T) string {
	t.Helper()
	var stderr strings.Builder
	if _, _, err := parseFlags("riposte bench", []string{"--help"}, &stderr); err == nil {
		t.Fatal("--help: no error")
	}
	return stderr.String()
}
