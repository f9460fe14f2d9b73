package system

import (
	"context"
	"testing"

	"github.com/riposte-dev/riposte/workflows"
)

// riposte serve --playbook-input (README, Execution model): auto follows
// what the workers polling announce; reference and inline force either.
func TestPlaybookInputModes(t *testing.T) {
	ctx := context.Background()
	// Every worker polling is of this release: only inline keeps the
	// playbook in the input.
	thisRelease := func(context.Context) int { return workflows.LatestRev }
	for _, tc := range []struct {
		mode      string
		inProcess bool
		wantRev   int // -2: no Rev (inline)
		wantByRef bool
	}{
		{"inline", false, -2, false},
		{"reference", false, workflows.LatestRev, true},
		{"auto", false, workflows.LatestRev, false},
		{"", false, workflows.LatestRev, false},
		{"", true, workflows.LatestRev, false},
	} {
		rev, byRef := runRevision(tc.mode, tc.inProcess, thisRelease)
		got := -2
		if rev != nil {
			got = rev(ctx)
		}
		if got != tc.wantRev || byRef != tc.wantByRef {
			t.Errorf("--playbook-input %q (worker in process %v): rev %d, by reference %v; want %d, %v", tc.mode, tc.inProcess, got, byRef, tc.wantRev, tc.wantByRef)
		}
	}
}
