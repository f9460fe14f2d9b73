package conditions

import (
	"strings"
	"testing"
	"time"
)

// The README promises that expressions are deterministic (date() defaults
// to UTC) because workflow code evaluates them and replays them on any
// worker. The time zone of the machine must therefore never reach a
// result: an expression that would read it is refused when the playbook
// is validated, or fails when it runs, but never gives one answer on a
// worker in UTC and another on a worker in Tokyo.
func TestExpressionsDoNotReadTheMachineTimeZone(t *testing.T) {
	cases := []string{
		`date("2024-01-01T10:00:00Z").Local().Hour()`,
		`date("2024-01-01 10:00", "2006-01-02 15:04", "Local").Unix()`,
		`date("2024-01-01 10:00", "2006-01-02 15:04", vars.tz).Unix()`,
		`string(timezone(vars.tz))`,
	}
	env := func() map[string]any { return (&Env{Vars: map[string]any{"tz": "Local"}}).Map() }
	saved := time.Local
	defer func() { time.Local = saved }()
	for _, src := range cases {
		p, err := Compile(src, ScopeVars, false)
		if err != nil {
			continue // refused at validation: fine
		}
		time.Local = time.UTC
		utc, err1 := p.Eval(env())
		time.Local = time.FixedZone("JST", 9*3600)
		jst, err2 := p.Eval(env())
		if err1 == nil && err2 == nil && Format(utc) != Format(jst) {
			t.Errorf("%s: %v on a worker in UTC, %v on a worker in Tokyo", src, Format(utc), Format(jst))
		}
	}
}

// timezone() is the documented way to name a zone, but its result passed
// to a time's In() failed at run time (reflect: Call using time.Location
// as type *time.Location) after the playbook validated.
func TestTimezoneWorksWithIn(t *testing.T) {
	p, err := Compile(`date("2024-01-01T10:00:00Z").In(timezone("Asia/Tokyo")).Hour()`, ScopeVars, false)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	v, err := p.Eval((&Env{}).Map())
	if err != nil && strings.Contains(err.Error(), "reflect") {
		t.Fatalf("validated, then failed at run time: %v", err)
	}
	if err != nil {
		t.Fatalf("timezone(\"Asia/Tokyo\"): %v (the zone database is built in)", err)
	}
	if v != 19 {
		t.Fatalf("10:00 UTC in Tokyo = %v, want 19", v)
	}
}
