package engine_test

import (
	"fmt"
	"strings"
	"testing"

	taskqueuepb "go.temporal.io/api/taskqueue/v1"

	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/workflows"
)

// riposte doctor's workers line is what operations.md sends an operator to
// during a rolling upgrade ("riposte doctor's workers line says which")
// and before rolling back ("once every worker announced
// riposte:seal/credential"). It read only the revision, so a worker of the
// releases between revision 7 and the credential seals (2026-12-06 04:33
// to 07:54: riposte:rev/7 without riposte:seal/credential) or before the
// control-credential seals, still polling, was reported "all of this
// release", while serve, seeing it, recorded every vote, extension,
// safe-mode switch and rollback without the credential that authenticated
// it (README: "left out … while a worker of an earlier release polls").
// The line must not say "all of this release" then, and must name the
// marker a worker lacks and what it holds back.
func TestWorkersLineNamesWorkersWithoutCredentialSeals(t *testing.T) {
	now := engine.WorkerIdentity("14@host@riposte", true)
	rev7 := fmt.Sprintf("13@host@riposte %s %s%d %s", engine.CompressedMarker, engine.RevMarker, workflows.LatestRev, engine.ByReferenceMarker)
	votesOnly := fmt.Sprintf("12@host@riposte %s %s %s%d %s", engine.CompressedMarker, engine.CredentialMarker, engine.RevMarker, workflows.LatestRev, engine.ByReferenceMarker)
	noMark := fmt.Sprintf("10@host@riposte %s %s %s %s %s%d %s", engine.CompressedMarker, engine.CredentialMarker, engine.ControlCredentialMarker, engine.RunSealMarker, engine.RevMarker, workflows.LatestRev, engine.ByReferenceMarker)
	noRun := fmt.Sprintf("11@host@riposte %s %s %s %s%d %s", engine.CompressedMarker, engine.CredentialMarker, engine.ControlCredentialMarker, engine.RevMarker, workflows.LatestRev, engine.ByReferenceMarker)
	for _, tc := range []struct {
		name    string
		pollers []string
		want    []string
	}{
		{"all of this release", []string{now, now}, []string{"all of this release"}},
		{"one without credential seals", []string{now, rev7}, []string{engine.CredentialMarker, "without the credential"}},
		{"one without control-credential seals", []string{now, votesOnly}, []string{engine.ControlCredentialMarker, "without the credential"}},
		{"one without run seals", []string{now, noRun}, []string{engine.RunSealMarker, "without their run"}},
		{"one without rolled_back run seals", []string{now, noMark}, []string{engine.RolledBackRunMarker, "does not name it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ps []*taskqueuepb.PollerInfo
			for _, id := range tc.pollers {
				ps = append(ps, &taskqueuepb.PollerInfo{Identity: id})
			}
			line, ok := engine.WorkersLine("riposte", ps)
			if !ok {
				t.Fatalf("%q: not ok", line)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("workers line %q; want it to say %q", line, w)
				}
			}
			if len(tc.pollers) > 0 && tc.pollers[1] != now && strings.Contains(line, "all of this release") {
				t.Errorf("workers line %q while a worker of an earlier release polls", line)
			}
		})
	}
}
