package pbtest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/pbtest"
)

// TestShippedTestsCatchUnsafeEdits: README (Playbook tests) says
// playbooks are code, tested like code, and each shipped playbook's
// NAME.test.yaml is what CI runs on it (`riposte test playbooks/`). A test
// file that still passes when a guard the README promises is removed
// cannot show that guard: an edit that weakens it ships green. Each
// mutation below removes or loosens one guard on an automatic
// containment (README, Shipped playbooks): the playbook's own test file
// must fail on it.
//
// The mutated playbook is run by its own test file, copied into a
// temporary tree laid out like the repository (examples/ and internal/
// linked), so every case reads the detections it reads in CI.
func TestShippedTestsCatchUnsafeEdits(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mutations := []struct {
		playbook, old, new, why string
		// times is how often old occurs (every occurrence is replaced):
		// 0 means once. endpoint-threat, ransomware-behaviour and
		// contain-credential-theft have one containment step per EDR, each
		// with the same gate.
		times int
	}{
		// "every shipped containment playbook requires confidence ≥ 60":
		// a detector that gives no confidence (most real producers) is
		// never read as confident enough for an automatic block.
		{"block-c2-beaconing", `(finding.confidence ?? 0) >= 60`, `(finding.confidence ?? 100) >= 60`,
			"unknown confidence read as high: the firewall block becomes automatic on any beacon alert without a confidence", 0},
		// The block is automatic: the reputation thresholds are the decision.
		{"block-c2-beaconing", `abuse_confidence_score ?? 0) >= 75`, `abuse_confidence_score ?? 0) >= 50`,
			"AbuseIPDB threshold lowered from 75 to 50", 0},
		{"block-c2-beaconing", `(steps.vt.output?.malicious ?? 0) >= 3`, `(steps.vt.output?.malicious ?? 0) >= 1`,
			"VirusTotal threshold lowered from 3 engines to 1", 0},
		{"ransomware-behaviour", `(finding.confidence ?? 0) >= 60`, `(finding.confidence ?? 60) >= 60`,
			"unknown confidence read as 60: a workstation isolated at once on a detector that gives no confidence", 0},
		// "two approvers on production or a server"
		{"ransomware-behaviour", `if: vars.production || vars.server`, `if: vars.production`,
			"a server (OCSF device type_id 1, CrowdStrike Server/Domain Controller) isolated without approvers", 3},
		{"ransomware-behaviour", `|| "production" in (detection.device?.labels ?? [])`, ``,
			"a host labelled production isolated without approvers", 0},
		// "automatic only at ≥90% on a workstation (never a production host
		// or one the detection calls a server)"
		{"endpoint-threat", `vars.production || vars.server || finding.confidence == nil`, `vars.production || finding.confidence == nil`,
			"a server contained at once at 90%", 3},
		// "contain the host through the EDR that raised the alert"
		{"endpoint-threat", `lower(vars.product) matches "crowdstrike|(^|[^a-z])falcon([^a-z]|$)" ? "crowdstrike"`, `true ? "crowdstrike"`,
			"every alert's host contained through CrowdStrike, whichever EDR raised it", 0},
		// "executives two"
		{"compromised-account", `glob("ceo@*", vars.user) ||`, ``,
			"a ceo@ login suspended on one approval and released after 24h", 0},
		// "isolated by the EDR that raised the alert"
		{"ransomware-behaviour", `lower(vars.product) matches "crowdstrike|(^|[^a-z])falcon([^a-z]|$)" ? "crowdstrike"`, `true ? "defender"`,
			"a Falcon alert's host isolated through Defender without a human", 0},
		{"contain-credential-theft", `lower(vars.product) matches "crowdstrike|(^|[^a-z])falcon([^a-z]|$)" ? "crowdstrike"`, `true ? "crowdstrike"`,
			"a Defender alert's host contained through CrowdStrike without a human", 0},
		// "an approver may release the isolation (30 min, default deny ...;
		// never an isolation in place before the run, preexisting)": the
		// release through CrowdStrike and SentinelOne too, not only
		// Defender's.
		{"ransomware-behaviour", "hostname: ${{ vars.host }}\n    # Releasing a host that showed ransomware behaviour is a human's call:\n    # by default (a denial, or nobody within 30 minutes) it stays isolated.\n    approval:\n      approvers: {users: [U0SOCLEAD1, U0SOCLEAD2, U0INFRA001]}\n      timeout: 30m\n      on_timeout: deny",
			"hostname: ${{ vars.host }}\n    approval:\n      approvers: {users: [U0SOCLEAD1, U0SOCLEAD2, U0INFRA001]}\n      timeout: 30m\n      on_timeout: approve",
			"a CrowdStrike containment or SentinelOne disconnection lifted when nobody answers in 30 minutes", 2},
		{"ransomware-behaviour", ` && !(steps.isolate_crowdstrike.output?.preexisting ?? false)`, ``,
			"a CrowdStrike containment in place before the run (an analyst's) lifted on a clean sample", 0},
		{"ransomware-behaviour", ` && !(steps.isolate_sentinelone.output?.preexisting ?? false)`, ``,
			"a SentinelOne disconnection in place before the run (an analyst's) undone on a clean sample", 0},
		{"ransomware-behaviour", "(steps.sample.output.suspicious ?? 0) == 0 &&\n      steps.isolate_crowdstrike.status", "steps.isolate_crowdstrike.status",
			"a Falcon host released on a sample VirusTotal finds suspicious", 0},
		{"ransomware-behaviour", "(steps.sample.output.suspicious ?? 0) == 0 &&\n      steps.isolate_sentinelone.status", "steps.isolate_sentinelone.status",
			"a SentinelOne host released on a sample VirusTotal finds suspicious", 0},
		// VirusTotal's analysed: false (no engine has judged the object) is
		// no verdict, not clean (README, Shipped playbooks): the release of
		// a ransomware host is not offered on it, and a phishing click's
		// revocation or a C2 block neither skipped as clean nor automatic.
		{"ransomware-behaviour", ` && (steps.sample.output.analysed ?? false)`, ``,
			"a release offered on a sample no engine has analysed, as \"clean on VirusTotal\"", 3},
		{"phishing-url-clicked", " ||\n      (steps.domain_report.status == \"succeeded\" && !(steps.domain_report.output?.analysed ?? steps.domain_report.output?.found ?? false))", "",
			"a click on a domain no engine has analysed skipped as clean", 0},
		{"phishing-url-clicked", "approval:\n      if: \"!(steps.domain_report.output?.analysed ?? steps.domain_report.output?.found ?? false)\"\n", "approval:\n      if: false\n",
			"sessions revoked without a human on a domain no engine has analysed", 0},
		{"block-c2-beaconing", " ||\n      (steps.vt.status == \"succeeded\" && !(steps.vt.output?.analysed ?? steps.vt.output?.found ?? false))", "",
			"a beacon to an address no engine has analysed skipped as clean", 0},
		{"block-c2-beaconing", "approval:\n      if: (steps.abuse.output?.abuse_confidence_score ?? 0) < 75", "approval:\n      if: false && (steps.abuse.output?.abuse_confidence_score ?? 0) < 75",
			"an address no engine has analysed blocked without a human", 0},
		// A worker of a release before analysed (rolling upgrade) answers
		// without it: its answer is read by found, as that release read it,
		// so a verdict of engines is never taken for "not analysed".
		{"phishing-url-clicked", "if: \"!(steps.domain_report.output?.analysed ?? steps.domain_report.output?.found ?? false)\"", "if: \"!(steps.domain_report.output?.analysed ?? false)\"",
			"a malicious domain answered by a worker of an earlier release waits for a human (default deny) instead of being revoked at once", 0},
		{"block-c2-beaconing", "< 75 && !(steps.vt.output?.analysed ?? steps.vt.output?.found ?? false)", "< 75 && !(steps.vt.output?.analysed ?? false)",
			"an address VirusTotal flags, answered by a worker of an earlier release, waits for a human (default deny) instead of being blocked at once", 0},
		{"ransomware-behaviour", "(steps.sample.output.analysed ?? steps.sample.output.found ?? false) ? string(", "(steps.sample.output.analysed ?? false) ? string(",
			"the incident ticket says 'not analysed' of a sample engines flag, answered by a worker of an earlier release", 0},
		// Edits that weaken what README and the playbooks' descriptions say
		// in other ways: how long a gate waits, who must say why, which
		// detections a playbook takes.
		{"ransomware-behaviour", "timeout: 15m\n      on_timeout: approve", "timeout: 45m\n      on_timeout: approve",
			"a production host or server showing ransomware behaviour left unisolated for 45 minutes, not 15, before the gate approves itself", 3},
		{"contain-credential-theft", `escalate_to: {users: [U0CISO0001], timeout: 30m}`, `escalate_to: {users: [U0CISO0001], timeout: 4h}`,
			"the CISO's escalation of an unanswered containment waits 4h, not 30m", 4}, // and of the sessions' end when the host is contained by hand
		{"contain-credential-theft", `(finding.confidence ?? 0) >= 70`, `(finding.confidence ?? 0) >= 50`,
			"credential dumping at 50-69% taken from triage into containment", 0},
		{"contain-credential-theft", `(finding.confidence ?? 0) >= 70`, `(finding.confidence ?? 0) >= 80`,
			"credential dumping at 70-79% left without containment", 0},
		{"endpoint-threat", "\n      reason: on_deny", "",
			"a denial of a host's containment recorded without a reason", 3},
		{"block-c2-beaconing", ` || # == "T1573"`, ``,
			"beaconing over an encrypted channel (T1573) not blocked", 0},
		{"phishing-url-clicked", `finding.severity_id >= 3`, `finding.severity_id >= 4`,
			"a Medium phishing click left without containment", 0},
		{"phishing-url-clicked", `finding.severity_id >= 3`, `finding.severity_id >= 1`,
			"an Informational or Low phishing click revokes the user's sessions", 0},
	}
	for _, m := range mutations {
		t.Run(m.playbook+": "+m.why, func(t *testing.T) {
			dir := t.TempDir()
			for _, l := range []string{"examples", "internal"} {
				if err := os.Symlink(filepath.Join(root, l), filepath.Join(dir, l)); err != nil {
					t.Fatal(err)
				}
			}
			pbs := filepath.Join(dir, "playbooks")
			if err := os.MkdirAll(filepath.Join(pbs, "testdata"), 0o755); err != nil {
				t.Fatal(err)
			}
			tds, _ := filepath.Glob(filepath.Join(root, "playbooks", "testdata", "*"))
			for _, f := range tds {
				if err := os.Symlink(f, filepath.Join(pbs, "testdata", filepath.Base(f))); err != nil {
					t.Fatal(err)
				}
			}
			src, err := os.ReadFile(filepath.Join(root, "playbooks", m.playbook+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			want := max(m.times, 1)
			if n := strings.Count(string(src), m.old); n != want {
				t.Fatalf("%q occurs %d times in %s.yaml, want %d (update the mutation)", m.old, n, m.playbook, want)
			}
			mutated := strings.ReplaceAll(string(src), m.old, m.new)
			if err := os.WriteFile(filepath.Join(pbs, m.playbook+".yaml"), []byte(mutated), 0o600); err != nil {
				t.Fatal(err)
			}
			tests, err := os.ReadFile(filepath.Join(root, "playbooks", m.playbook+".test.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			tf := filepath.Join(pbs, m.playbook+".test.yaml")
			if err := os.WriteFile(tf, tests, 0o600); err != nil {
				t.Fatal(err)
			}
			fr := (&pbtest.Runner{}).RunFile(tf)
			if len(fr.Problems) > 0 {
				t.Fatalf("test file problems: %v", fr.Problems)
			}
			if !fr.Failed() {
				t.Errorf("playbooks/%s.test.yaml passes (%d cases) with %q replaced by %q: %s",
					m.playbook, len(fr.Cases), m.old, m.new, m.why)
			}
		})
	}
}
