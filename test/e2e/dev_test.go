package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

func TestDevEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()

	// Token file created with 0600.
	if fi, err := os.Stat(filepath.Join(h.dir, "api-token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v %v", fi, err)
	}

	t.Run("bad token", func(t *testing.T) {
		for _, tok := range []string{"", "wrong", h.token + "x"} {
			code, b := h.do("POST", "/v1/detections", tok, detectionJSON("x", 5, ""))
			if code != 401 || !bytes.Contains(b, []byte("API token")) {
				t.Errorf("token %q: %d %s", tok, code, b)
			}
		}
	})
	t.Run("malformed names field paths", func(t *testing.T) {
		code, b := h.do("POST", "/v1/detections", h.token, `{"class_uid":2004,"time":1,"severity_id":42,"finding_info":{},"metadata":{"product":{"name":"x"}},"confidence_score":150}`)
		if code != 400 {
			t.Fatalf("code %d %s", code, b)
		}
		for _, want := range []string{`"path": "finding_info.uid"`, `"path": "severity_id"`, `"path": "confidence_score"`} {
			if !bytes.Contains(b, []byte(want)) && !bytes.Contains(b, []byte(strings.ReplaceAll(want, " ", ""))) {
				t.Errorf("missing %s in %s", want, b)
			}
		}
	})
	t.Run("oversized", func(t *testing.T) {
		code, b := h.do("POST", "/v1/detections", h.token, detectionJSON("big", 5, `,"pad":"`+strings.Repeat("a", 5000)+`"`))
		if code != 413 {
			t.Errorf("code %d %s", code, b)
		}
	})
	t.Run("no matching playbook", func(t *testing.T) {
		code, r := h.submit(detectionJSON("low-1", 2, ""))
		if code != 200 || len(r.Detections) != 1 || r.Detections[0].Matched == nil || len(r.Detections[0].Matched) != 0 {
			t.Errorf("code %d %+v", code, r)
		}
	})

	code, r := h.submit(detectionJSON("cred-1", 5, ""))
	if code != 202 || r.Started != 1 || len(r.Detections[0].Matched) != 1 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	m := r.Detections[0].Matched[0]
	if m.Playbook != "e2e-contain" || m.Version != 2 || m.RunID == "" || !strings.Contains(m.URL, "/namespaces/default/workflows/") {
		t.Errorf("match = %+v", m)
	}
	d := h.waitRun(m.WorkflowID, time.Minute)
	if d.Status != workflows.RunSucceeded || len(d.Steps) != 3 {
		t.Fatalf("run = %+v", d)
	}
	for _, st := range d.Steps {
		if st.Status != "succeeded" {
			t.Errorf("step %s = %s (%s)", st.ID, st.Status, st.Error)
		}
	}
	if d.Outputs["host"] != "fin-ws-042" {
		t.Errorf("outputs = %v", d.Outputs)
	}

	// Same detection again: nothing new starts.
	code, r2 := h.submit(detectionJSON("cred-1", 5, ""))
	if code != 200 || r2.Started != 0 || r2.Deduplicated != 1 || !r2.Detections[0].Deduplicated {
		t.Fatalf("resubmit: %d %+v", code, r2)
	}
	if got := r2.Detections[0].Matched[0]; got.WorkflowID != m.WorkflowID || got.RunID != m.RunID {
		t.Errorf("dedup returned %+v, want the existing run %+v", got, m)
	}

	// The run is listed with its search attributes.
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, b := h.do("GET", "/v1/runs?playbook=e2e-contain&status=succeeded", h.token, "")
		var list struct{ Runs []api.RunSummary }
		_ = json.Unmarshal(b, &list)
		if code == 200 && len(list.Runs) == 1 {
			rs := list.Runs[0]
			if rs.DetectionID != "cred-1" || rs.Version != 2 || rs.Severity != "High" && rs.Severity != "Critical" || rs.DetectorModel != "Sentinel-LLM Triage/2.7.1" {
				t.Errorf("summary = %+v", rs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run not listed: %d %s", code, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestDevRestartResumesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	h := startDevForTest(t, dir)
	// The wait step takes 2s; the process stops in the middle of it.
	code, r := h.submit(detectionJSON("restart-1", 5, `,"unmapped":{"sleep":"2s"}`))
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	id := r.Detections[0].Matched[0].WorkflowID
	time.Sleep(700 * time.Millisecond)
	h.sys.Close()

	h2 := startDevForTest(t, dir)
	defer h2.sys.Close()
	if h2.token != h.token {
		t.Errorf("token changed across restart")
	}
	d := h2.waitRun(id, 90*time.Second)
	if d.Status != workflows.RunSucceeded {
		t.Fatalf("after restart: %+v", d)
	}
	// Exactly one run for the detection (lists read the visibility store,
	// which lags the run's history).
	h2.eventually(t, func() string {
		code, b := h2.do("GET", "/v1/runs?playbook=e2e-contain", h2.token, "")
		var list struct{ Runs []api.RunSummary }
		if code != 200 || json.Unmarshal(b, &list) != nil || len(list.Runs) != 1 {
			return fmt.Sprintf("runs after restart: %d %s", code, b)
		}
		return ""
	})
	// And re-sending it still deduplicates against the finished run.
	if code, r := h2.submit(detectionJSON("restart-1", 5, `,"unmapped":{"sleep":"2s"}`)); code != 200 || r.Deduplicated != 1 {
		t.Errorf("resubmit after restart: %d %+v", code, r)
	}
}

// TestDevEncryptsHistory reads Temporal's raw SQLite files after a run and
// finds none of the detection's fields in clear text.
func TestDevEncryptsHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	h := startDevForTest(t, dir)
	secretTitle := "Zanzibar-credential-theft-7731"
	body := strings.Replace(detectionJSON("enc-1", 5, `,"unmapped":{"note":"quokka-canary-4411"}`), "LSASS dump <!channel>", secretTitle, 1)
	code, r := h.submit(body)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	d := h.waitRun(r.Detections[0].Matched[0].WorkflowID, time.Minute)
	if d.Outputs["host"] != "fin-ws-042" {
		t.Fatalf("run did not decode its own payloads: %+v", d)
	}
	h.sys.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "temporal.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	control := false
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Search attributes are not encrypted: seeing one proves the scan
		// reads the stored runs.
		control = control || bytes.Contains(raw, []byte("e2e-contain"))
		for _, needle := range []string{"quokka-canary-4411", secretTitle, "fin-ws-042", `"confidence_score"`} {
			if bytes.Contains(raw, []byte(needle)) {
				t.Errorf("%s holds %q in clear text", filepath.Base(f), needle)
			}
		}
	}
	if !control {
		t.Error("the database files hold no trace of the run; the scan proves nothing")
	}
}
