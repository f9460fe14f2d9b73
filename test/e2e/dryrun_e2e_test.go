package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/cli"
	"github.com/riposte-dev/riposte/workflows"
)

// TestDryRunAndShadowSendNothing proves that dry runs and shadow-mode runs
// reach no vendor: the lab's fakes count zero calls.
func TestDryRunAndShadowSendNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	pbs := filepath.Join(dir, "playbooks")
	if err := os.MkdirAll(pbs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"../../playbooks/contain-credential-theft.yaml", "testdata/playbooks/shadow.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pbs, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := startDevForTest(t, dir, func(o *cli.DevOptions) { o.Playbooks = pbs; o.MaxBody = 1 << 20 })
	defer h.sys.Close()

	// Dry run of the shipped credential-theft playbook via the envelope.
	det, err := os.ReadFile("../../examples/credential-dumping.json")
	if err != nil {
		t.Fatal(err)
	}
	code, r := h.submit(`{"dry_run": true, "detections": [` + string(det) + `]}`)
	if code != 202 {
		t.Fatalf("dry run submit: %d", code)
	}
	m := r.Detections[0].Matched[0]
	if m.Mode != "dry_run" || !strings.HasPrefix(m.WorkflowID, "dryrun:") {
		t.Errorf("dry run match = %+v", m)
	}
	d := h.waitRun(m.WorkflowID, time.Minute)
	if d.Status != workflows.RunSucceeded || d.Mode != "dry_run" {
		t.Fatalf("dry run: %+v", d)
	}
	for _, st := range d.Steps {
		if st.Status == "succeeded" {
			if out, _ := st.Output.(map[string]any); out["simulated"] != true && st.Action != "core.log" {
				t.Errorf("step %s output not simulated: %v", st.ID, st.Output)
			}
		}
	}

	// A shadow-mode playbook on a live detection: simulated too, and listed.
	code, r = h.submit(`{"class_uid":2004,"time":1,"severity_id":5,"confidence_score":99,"finding_info":{"uid":"sh-1"},"metadata":{"product":{"name":"x"}},"device":{"hostname":"fin-ws-042"},"unmapped":{"shadow":true}}`)
	if code != 202 {
		t.Fatalf("shadow submit: %d", code)
	}
	sm := matched(t, r, "e2e-shadow")
	if d := h.waitRun(sm, time.Minute); d.Status != workflows.RunSucceeded || d.Mode != "shadow" {
		t.Fatalf("shadow run: %+v", d)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, b := h.do("GET", "/v1/runs?shadow=true", h.token, "")
		var list struct{ Runs []api.RunSummary }
		_ = json.Unmarshal(b, &list)
		if code == 200 && len(list.Runs) == 1 && list.Runs[0].WorkflowID == sm {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs list --shadow: %d %s", code, b)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if calls := h.sys.Lab.Calls(); len(calls) != 0 {
		t.Errorf("dry run / shadow reached the vendors: %d calls, first %+v", len(calls), calls[0])
	}
}
