package conditions

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// `matches` was outside the expression budget. A constant pattern is
// compiled once, but with no size limit: 550 characters such as
// `(.*a){1000}` fifty times are a 250,000-instruction program, which Go's
// regexp runs in time proportional to the program times the input: against
// a 100 KB field of a detection, 88 seconds on one core, a workflow task
// (past its 10 s timeout, retried for ever) or an intake request's
// trigger.when pinned. A pattern that is not a constant (read from the
// detection or vars) was compiled at every evaluation, up to 1.5 million
// instructions and 190 MB each, nothing charged either.
//
// A constant pattern over the size limit is a compile error at its
// position; every match charges the budget for its program times its
// input; a pattern that is not a constant is refused over the limit and its
// compilation charged.
func TestMatchesIsBounded(t *testing.T) {
	huge := strings.Repeat(`(.*a){1000}`, 50)
	src := `detection.message matches "` + huge + `"`
	_, err := Compile(src, ScopeStep, true)
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 1 || ce.Column != 27 || !strings.Contains(ce.Msg, "too large") {
		t.Errorf("%.60s…: compile error %v, want 1:27 (the pattern) saying it is too large", src, err)
	}

	big := strings.Repeat("ab ", 40000) // 120 KB of a detection field
	env := (&Env{Detection: map[string]any{"message": big, "pattern": huge, "small": "(.*a){20}"}}).Map()
	for _, src := range []string{
		// Within the size limit, but the program times the input is
		// far over the budget.
		`detection.message matches "` + strings.Repeat(`(.*a){100}`, 4) + `"`,
		// Not a constant: compiled at evaluation.
		`detection.message matches detection.pattern`,
		`all(1..200, {detection.message matches detection.small})`,
	} {
		start := time.Now()
		_, err := evalWithin(t, src, env, time.Minute)
		if err == nil || !strings.Contains(err.Error(), "too expensive") && !strings.Contains(err.Error(), "too large") {
			t.Errorf("%.70s…: err %v after %s, want the budget's error", src, err, time.Since(start).Round(time.Millisecond))
		}
	}

	// Ordinary patterns on ordinary fields still match.
	for src, want := range map[string]bool{
		`detection.message matches "^(ab )+$"`:                                  true,
		`"arn:aws:iam::123:user/x" matches "^arn:aws:iam::[0-9]+:(user|role)/"`: true,
		`"Chief Risk" matches "(?i)chief|vp|president"`:                         true,
		`"x" matches detection.small`:                                           false,
	} {
		v, err := evalWithin(t, src, env, 10*time.Second)
		if err != nil || v != want {
			t.Errorf("%s = %v, %v; want %v", src, v, err, want)
		}
	}
}
