package pbtest

import (
	"os"
	"path/filepath"
	"testing"
)

// A detection the intake accepts is one a case can write inline. The
// intake takes an epoch time in nanoseconds (finding.TimeMS reads it; no
// warning for the record's time) and keeps a 64-bit id beyond ±2^53
// exactly (with a warning), and a case naming the same detection as a
// JSON file runs. The same detection written inline (or a patch setting
// such a time) was refused as "beyond ±2^53 ... quote it", and quoting a
// time makes another detection (a string time), so the case could not
// be written at all.
func TestInlineDetectionTakesWhatTheIntakeTakes(t *testing.T) {
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
	write("det.json", `{"class_uid": 2004, "severity_id": 4, "time": 1700000000123456789, "finding_info": {"uid": "f1", "title": "t"}, "metadata": {"version": "1.1.0", "product": {"name": "x"}}}`)
	write("p.test.yaml", `cases:
  - name: from a file
    detection: det.json
    expect: {status: succeeded}
  - name: inline
    detection: {class_uid: 2004, severity_id: 4, time: 1700000000123456789, finding_info: {uid: f1, title: t}, metadata: {version: 1.1.0, product: {name: x}}}
    expect: {status: succeeded}
  - name: patched
    detection: det.json
    patch: {time: 1700000000987654321}
    expect: {status: succeeded}
`)
	rep, out := run(t, false, filepath.Join(dir, "p.test.yaml"))
	if len(rep.Files) != 1 || len(rep.Files[0].Cases) != 3 {
		t.Fatalf("want 3 cases:\n%s", out)
	}
	for _, c := range rep.Files[0].Cases {
		if !c.Passed() {
			t.Errorf("case %q: %v", c.Name, c.Failures)
		}
	}
}
