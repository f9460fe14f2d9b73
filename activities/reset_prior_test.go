package activities

import (
	"context"
	"errors"
	"testing"
)

// A reset run's contain call claims what it finds in place only when the
// run it was reset from made the same call and it applied the
// containment; unknown (no reader, an unreadable history) leaves it
// preexisting, so a rollback never lifts containment that may be someone
// else's.
func TestAppliedBeforeReset(t *testing.T) {
	applied := func(v bool, err error) func(context.Context, Call) (bool, error) {
		return func(context.Context, Call) (bool, error) { return v, err }
	}
	for name, tc := range map[string]struct {
		resetFrom string
		prior     func(context.Context, Call) (bool, error)
		want      bool
	}{
		"not a reset run":                      {"", applied(true, nil), false},
		"no reader":                            {"run-1", nil, false},
		"the earlier run applied it":           {"run-1", applied(true, nil), true},
		"the earlier run found it so":          {"run-1", applied(false, nil), false},
		"the earlier run's history unreadable": {"run-1", applied(true, errors.New("not found")), false},
	} {
		env := &Env{PriorCall: tc.prior}
		if got := appliedBeforeReset(context.Background(), env, Call{ResetFrom: tc.resetFrom, StepID: "block"}); got != tc.want {
			t.Errorf("%s: appliedBeforeReset = %v, want %v", name, got, tc.want)
		}
	}
}
