package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// riposte dev and serve build the finding view with the detections:
// settings of riposte.yaml (confidence_ids, internal_networks); riposte
// test built it with the defaults, so a case whose trigger reads
// finding.confidence passed although the same detection starts nothing on
// the site's server (confidence_id 3 is 85 by default, 60 here). riposte
// test reads the same file: --config, default ./riposte.yaml when present.
func TestTestCommandUsesTheSiteDetectionSettings(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("riposte.yaml", "detections:\n  confidence_ids: {1: 25, 2: 50, 3: 60}\n")
	write("confident.yaml", `apiVersion: riposte/v1
name: confident
version: 1
trigger:
  when: (finding.confidence ?? 0) >= 80
steps:
  - id: note
    action: core.noop
`)
	write("confident.test.yaml", `cases:
  - name: a high-confidence detection runs
    detection: {class_uid: 2004, time: 1, severity_id: 4, confidence_id: 3, metadata: {product: {name: edr}}, finding_info: {uid: u1, title: t}}
    expect: {status: succeeded}
`)
	code, out, errs := runTest(t, "--config", filepath.Join(dir, "riposte.yaml"), dir)
	if code != 1 || !strings.Contains(out, "trigger.when is false") {
		t.Errorf("--config: exit %d, want 1 (the trigger is false with the site's confidence_ids)\n%s%s", code, out, errs)
	}
	t.Chdir(dir)
	code, out, errs = runTest(t, ".")
	if code != 1 || !strings.Contains(out, "trigger.when is false") {
		t.Errorf("./riposte.yaml: exit %d, want 1 (the trigger is false with the site's confidence_ids)\n%s%s", code, out, errs)
	}
	write("riposte.yaml", "detections:\n  confidence_ids: {3: 300}\n")
	if code, _, errs = runTest(t, "."); code != 2 || !strings.Contains(errs, "riposte.yaml:2:") {
		t.Errorf("bad settings: exit %d, want 2 naming the position\n%s", code, errs)
	}
}
