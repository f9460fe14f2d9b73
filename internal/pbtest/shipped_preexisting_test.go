package pbtest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/pbtest"
)

// runShipped runs one test case written against a shipped playbook.
func runShipped(t *testing.T, playbook, detection, cases string) *pbtest.FileResult {
	t.Helper()
	pb, err := filepath.Abs("../../playbooks/" + playbook)
	if err != nil {
		t.Fatal(err)
	}
	det, _ := filepath.Abs("../../examples/" + detection)
	src := "playbook: " + pb + "\ncases:\n" + cases
	src = strings.ReplaceAll(src, "DETECTION", det)
	path := filepath.Join(t.TempDir(), "case.test.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	fr := (&pbtest.Runner{}).RunFile(path)
	if len(fr.Problems) > 0 || len(fr.Cases) != 1 {
		t.Fatalf("problems %v, %d cases", fr.Problems, len(fr.Cases))
	}
	return fr
}

// A contain step whose connector finds the containment already in place
// on its first attempt (already: true: an analyst or another run applied
// it) is marked preexisting by the worker, and the run is to leave it: a
// rollback does not lift it (README, Undo and time-boxed containment). The
// shipped playbooks' own release steps lifted it anyway:
// ransomware-behaviour released an isolation an analyst had put on the
// host before the run once VirusTotal found the sample clean, and
// compromised-account unsuspended a user suspended before the run when
// clearing the sessions failed. Playbook tests could not show it: a stub
// answering already: true was not marked preexisting as the worker marks
// it.
func TestShippedReleaseStepsLeavePreexistingContainment(t *testing.T) {
	t.Run("ransomware-behaviour", func(t *testing.T) {
		fr := runShipped(t, "ransomware-behaviour.yaml", "ransomware.json", `
  - name: an isolation in place before the run is not released
    detection: DETECTION
    stubs:
      isolate: {output: {machine_id: mde-9f31, hostname: web-prod-01.corp.example.com, action_id: act-analyst, status: Succeeded, already: true}}
      sample: {output: {found: true, analysed: true, malicious: 0, suspicious: 0, harmless: 61, undetected: 12, reputation: 5}}
    approvals:
      isolate: {approve: [U0SOCLEAD2, U0SOCLEAD1]}
    expect:
      steps:
        isolate: {status: succeeded, output: {preexisting: true}}
        rollback: skipped
`)
		if c := fr.Cases[0]; !c.Passed() {
			t.Fatalf("case failed: %v", c.Failures)
		}
	})
	t.Run("compromised-account", func(t *testing.T) {
		fr := runShipped(t, "compromised-account.yaml", "impossible-travel.json", `
  - name: a user suspended before the run stays suspended
    detection: DETECTION
    stubs:
      suspend: {output: {user_id: 00u7moreau, login: j.moreau@corp.example.com, status: SUSPENDED, already: true}}
      clear_sessions: {error: "Okta: 500 Internal Server Error", retryable: false}
    approvals:
      suspend: {approve: U0IAMLEAD1}
    expect:
      steps:
        suspend: {status: succeeded, output: {preexisting: true}}
        rollback: skipped
`)
		if c := fr.Cases[0]; !c.Passed() {
			t.Fatalf("case failed: %v", c.Failures)
		}
	})
}
