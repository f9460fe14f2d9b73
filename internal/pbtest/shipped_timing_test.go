package pbtest_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/pbtest"
	"github.com/riposte-dev/riposte/workflows"
)

// TestRansomwareTicketAndPageDoNotWaitForTheRelease: README's playbook
// table says ransomware-behaviour opens its ticket and pages "without
// waiting for that decision" (whether an approver releases the isolation
// after a clean VirusTotal verdict, up to 30 minutes). The test cases in
// playbooks/ransomware-behaviour.test.yaml cannot say when a step ran, so
// a ticket or page made to wait for the release (needs: [sample,
// rollback]) passed every one of them. This runs the shipped playbook with
// the release decided 29 minutes after its gate opens and requires the
// ticket and the page to be done within a minute of the sample check.
func TestRansomwareTicketAndPageDoNotWaitForTheRelease(t *testing.T) {
	pb, err := filepath.Abs("../../playbooks/ransomware-behaviour.yaml")
	if err != nil {
		t.Fatal(err)
	}
	det, _ := filepath.Abs("../../examples/ransomware.json")
	src := `playbook: ` + pb + `
cases:
  - name: release decided late
    detection: ` + det + `
    stubs:
      sample: {output: {found: true, analysed: true, malicious: 0, suspicious: 0, harmless: 61, undetected: 12}}
    approvals:
      isolate: {approve: [U0SOCLEAD2, U0SOCLEAD1]}
      rollback: {approve: U0INFRA001, after: 29m}
    expect:
      status: succeeded
      steps:
        rollback: {status: succeeded, gate: {state: approved, by: U0INFRA001}}
        ticket: succeeded
        page: succeeded
`
	path := filepath.Join(t.TempDir(), "late.test.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	fr := (&pbtest.Runner{}).RunFile(path)
	if len(fr.Problems) > 0 || len(fr.Cases) != 1 {
		t.Fatalf("problems %v, %d cases", fr.Problems, len(fr.Cases))
	}
	c := fr.Cases[0]
	if !c.Passed() || c.Result == nil {
		t.Fatalf("case failed: %v", c.Failures)
	}
	steps := map[string]workflows.StepResult{}
	for _, s := range c.Result.Steps {
		steps[s.ID] = s
	}
	sample := steps["sample"]
	if sample.EndedAt == nil {
		t.Fatalf("sample: no end time: %+v", sample)
	}
	for _, id := range []string{"ticket", "page"} {
		s := steps[id]
		if s.EndedAt == nil {
			t.Fatalf("%s: no end time: %+v", id, s)
		}
		if wait := s.EndedAt.Sub(*sample.EndedAt); wait > time.Minute {
			t.Errorf("%s ended %v after the sample check: it waited for the release decision", id, wait)
		}
	}
}
