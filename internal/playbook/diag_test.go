package playbook

import "testing"

// Internal tests: they need no catalog (the catalog's package imports this
// one through workflows, so tests that need it live in package playbook_test).

func TestDidYouMean(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{"neds", ` (did you mean "needs"?)`},
		{"acton", ` (did you mean "action"?)`},
		{"ID", ` (did you mean "id"?)`},
		{"timeuot", ` (did you mean "timeout"?)`},
		{"colour", ""},
		{"approvers", ` (did you mean "approval"?)`},
		{"description", ""},
	} {
		if got := didYouMean(tt.got, newFormat().step.names()); got != tt.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tt.got, got, tt.want)
		}
	}
}
