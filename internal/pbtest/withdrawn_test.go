package pbtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The dispatcher starts no playbook for a finding the detector withdrew
// (resolved, suppressed, closed, a false positive) or for a passing
// compliance result, whatever the trigger says (dispatch.Dispatch,
// `riposte submit --explain`: "no playbook starts"). riposte test ran the
// playbook whenever trigger.when held, so a case could prove that a false
// positive gets its host contained, and a case saying such a finding
// starts nothing (triggered: false) failed.
func TestWithdrawnFindingStartsNothing(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("p.yaml", `apiVersion: riposte/v1
name: p
version: 1
trigger: {when: "detection.severity_id >= 4"}
steps:
  - id: a
    action: core.noop
`)
	const det = `{class_uid: 2004, severity_id: 4, time: 1700000000000, finding_info: {uid: f1, title: t}, metadata: {version: 1.1.0, product: {name: x}}}`
	write("p.test.yaml", `cases:
  - name: active
    detection: `+det+`
    expect: {status: succeeded}
  - name: resolved starts nothing
    detection: `+det+`
    patch: {status_id: 4}
    expect: {triggered: false}
  - name: a false positive runs
    detection: `+det+`
    patch: {verdict_id: 1}
    expect: {status: succeeded, steps: {a: succeeded}}
`)
	rep, out := run(t, false, filepath.Join(dir, "p.test.yaml"))
	if len(rep.Files) != 1 || len(rep.Files[0].Cases) != 3 {
		t.Fatalf("want 3 cases:\n%s", out)
	}
	cs := rep.Files[0].Cases
	if !cs[0].Passed() {
		t.Errorf("an active finding: %v", cs[0].Failures)
	}
	if !cs[1].Passed() {
		t.Errorf("a resolved finding expected to start nothing: %v", cs[1].Failures)
	}
	if cs[2].Passed() || !strings.Contains(strings.Join(cs[2].Failures, "\n"), "withdrawn") {
		t.Errorf("a false positive expected to run: want a failure naming the withdrawn finding, got %v", cs[2].Failures)
	}
}
