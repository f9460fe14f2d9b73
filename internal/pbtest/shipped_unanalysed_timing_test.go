package pbtest_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/pbtest"
	"github.com/riposte-dev/riposte/workflows"
)

// TestShippedUnanalysedGatesWait30Minutes: README's playbook table says
// a phishing click's revocation and a C2 block on an answer no VirusTotal
// engine has analysed wait for an approval "30 min, default deny". The
// cases in the playbooks' test files answer the gate at once or say
// timeout: true, which passes whatever the timeout is; a late vote cannot
// be cast once the run has ended. This runs each gate to its timeout and
// requires it to close 30 minutes after the VirusTotal answer.
func TestShippedUnanalysedGatesWait30Minutes(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	unanalysed := `{output: {found: true, analysed: false, malicious: 0, suspicious: 0, harmless: 0, undetected: 0, reputation: 0}}`
	for _, tc := range []struct {
		playbook, detection, stubs, lookup, gated string
	}{
		{"phishing-url-clicked", "examples/phishing-click.ndjson",
			"      domain_report: " + unanalysed + "\n      ticket: {output: {key: SEC-1}}\n", "domain_report", "revoke"},
		{"block-c2-beaconing", "examples/c2-beaconing.json",
			"      abuse: {output: {abuse_confidence_score: 0, total_reports: 0}}\n      vt: " + unanalysed + "\n      ticket: {output: {key: SEC-2}}\n", "vt", "block"},
	} {
		t.Run(tc.playbook, func(t *testing.T) {
			src := `playbook: ` + filepath.Join(root, "playbooks", tc.playbook+".yaml") + `
cases:
  - name: nobody answers
    detection: ` + filepath.Join(root, tc.detection) + `
    stubs:
` + tc.stubs + `    approvals:
      ` + tc.gated + `: {timeout: true}
    expect:
      steps:
        ` + tc.gated + `: {status: timed_out, gate: {state: timed_out}}
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
			lookup, gated := steps[tc.lookup], steps[tc.gated]
			if lookup.EndedAt == nil || gated.EndedAt == nil {
				t.Fatalf("no end times: %+v %+v", lookup, gated)
			}
			if wait := gated.EndedAt.Sub(*lookup.EndedAt); wait < 30*time.Minute || wait > 31*time.Minute {
				t.Errorf("the gate on %s closed %v after the VirusTotal answer, README says 30 min", tc.gated, wait)
			}
		})
	}
}
