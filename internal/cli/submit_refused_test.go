package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/intake"
)

// The API refuses a detection alone (an over-long uid: 400; one Temporal
// refuses as too large: 413) and processes the rest: its answer is 202
// with that entry's "status" and "problems". riposte submit printed the
// refusal as "no playbook started" and exited 0, as for a detection that
// simply matched nothing, so `riposte submit alerts.ndjson && rm
// alerts.ndjson` (or a CI step) dropped the refused detection. A file whose
// whole request is refused exits 1; a file with a refused detection must
// too, naming it and the field.
func TestSubmitExitsNonZeroWhenADetectionIsRefused(t *testing.T) {
	resp := api.DetectionsResponse{Started: 1, Detections: []dispatch.Outcome{
		{Index: 0, DetectionID: "ok-1", State: "active", Matched: []dispatch.Match{{Playbook: "triage", Version: 1, Mode: "live", WorkflowID: "triage:p.ok-1.x", RunID: "r1"}}},
		{Index: 1, DetectionID: "AAAA…", State: "refused", Status: 400, Matched: []dispatch.Match{},
			Problems: []intake.FieldError{{Index: 1, Path: "finding_info.uid", Message: "is 204800 bytes; the limit is 1024 (this detection was refused; the others of the request were processed)"}},
			Reason:   "refused (400): finding_info.uid is 204800 bytes; the limit is 1024 (this detection was refused; the others of the request were processed)"},
	}}
	srv := fakeAPI(t, map[string]any{"/v1/detections": resp})
	f := filepath.Join(t.TempDir(), "alerts.ndjson")
	if err := os.WriteFile(f, []byte("{}\n{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--json"}} {
		args := append([]string{"submit", "--api", srv.URL, "--token", "rpt_test"}, extra...)
		code, out, errOut := runCLI(t, append(args, f)...)
		if code == 0 {
			t.Errorf("submit %v: exit 0 with detection 1 refused (400); want a non-zero exit\nstdout: %s\nstderr: %s", extra, out, errOut)
		}
		if !strings.Contains(errOut, "detection 1") || !strings.Contains(errOut, "finding_info.uid") {
			t.Errorf("submit %v: stderr %q does not name the refused detection and its field", extra, errOut)
		}
	}
}

// --partial asks the API to refuse an invalid detection alone
// (?partial=true); without it the query does not say partial.
func TestSubmitPartialAsksForPartial(t *testing.T) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"detections":[]}`))
	}))
	defer srv.Close()
	f := filepath.Join(t.TempDir(), "alerts.ndjson")
	if err := os.WriteFile(f, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, partial := range []bool{true, false} {
		args := []string{"submit", "--api", srv.URL, "--token", "rpt_test"}
		if partial {
			args = append(args, "--partial")
		}
		if code, out, errOut := runCLI(t, append(args, f)...); code != 0 {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
	}
	if len(queries) != 2 || queries[0] != "partial=true" || queries[1] != "" {
		t.Errorf("queries %q, want [partial=true, \"\"]", queries)
	}
}
