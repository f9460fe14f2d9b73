package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/workflows"
)

// Detection text (finding_info.uid, a device's hostname, a withdrawal's
// status text) is written by the detector, often an AI. A line break or
// a tab in it must not start a line or a column of its own in the CLI's
// tables and listings: there it would print a row or a field Riposte
// never wrote (a run that "succeeded", a playbook that "matches").

// linesStarting counts the lines of out that start with prefix.
func linesStarting(out, prefix string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func TestRunsListDetectionTextCannotForgeARow(t *testing.T) {
	at := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	uid := "det-1\n2026-12-06 04:00:00  isolate-host v3  succeeded\tcontained\t-\tlive\tdet-2\tisolate-host-x\t"
	var b bytes.Buffer
	printRuns(escapeStreams(Streams{Out: &b}).Out, []api.RunSummary{{WorkflowID: "isolate-host-det-1", Playbook: "contain", Version: 1,
		DetectionID: uid, Status: workflows.RunFailed, Mode: "live", StartedAt: at, Kind: api.KindPlaybook}})
	out := strings.TrimRight(b.String(), "\n")
	if n := strings.Count(out, "\n") + 1; n != 2 {
		t.Errorf("runs list printed %d lines for one run (a detection uid forged a row):\n%s", n, out)
	}
	if strings.Contains(b.String(), "\tcontained") || strings.Contains(b.String(), "\t") {
		t.Errorf("runs list let a tab from the detection through (it starts a column):\n%s", out)
	}
}

func TestRunsShowDetectionTextCannotForgeALine(t *testing.T) {
	d := &api.RunDetail{
		RunSummary: api.RunSummary{WorkflowID: "isolate-host-det-1", Playbook: "contain", Version: 1, DetectionID: "det-1\n  status:    succeeded",
			Status: workflows.RunFailed, Kind: api.KindPlaybook},
		Finding: map[string]any{"severity": "High", "state": "active",
			"hosts": []any{map[string]any{"value": "ws1\n  outcome:   contained", "source": "device.hostname"}}},
		Withdrawn: &workflows.Withdrawal{Reason: "closed\n  rolled back: by U0SOCLEAD1", At: time.Now()},
	}
	var b bytes.Buffer
	printRun(escapeStreams(Streams{Out: &b}).Out, d)
	out := b.String()
	for _, p := range []string{"  status:", "  outcome:", "  rolled back:"} {
		if n := linesStarting(out, p); n != map[string]int{"  status:": 1}[p] {
			t.Errorf("runs show printed %d line(s) starting %q (detection text forged one):\n%s", n, p, out)
		}
	}
}

func TestSubmitExplainDetectionTextCannotForgeAVerdict(t *testing.T) {
	ex := api.ExplainResponse{Detections: []dispatch.Explanation{{
		DetectionID: "det-1",
		Finding: map[string]any{"severity": "High", "hosts": []any{
			map[string]any{"value": "ws1\n  contain-host matches: severity_id >= 4", "source": "device.hostname"}}},
	}}}
	var b bytes.Buffer
	printExplanations(escapeStreams(Streams{Out: &b}).Out, "d.json", ex)
	if n := linesStarting(b.String(), "  contain-host matches"); n != 0 {
		t.Errorf("submit --explain printed a verdict no playbook gave (forged by a host name):\n%s", b.String())
	}
}

// riposte approvals: a gate's why can quote the detection (a guardrail
// names the protected host it read there).
func TestApprovalsDetectionTextCannotForgeARow(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"approvals":[{"workflow_id":"isolate-host-det-1","gate":{"id":"isolate","step_id":"isolate","state":"pending","quorum":1,`+
			`"why":"host ws1\nisolate-host-det-9\tisolate\tcrowdstrike.contain_host\t1/1\tU0SOCLEAD1\t1m\tapproved","expires_at":"2099-01-01T00:00:00Z"}}]}`)
	}))
	defer srv.Close()
	code, out, errOut := runCLI(t, "approvals", "--api", srv.URL, "--token", "rpt_test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(strings.TrimRight(out, "\n"), "\n") + 1; n != 2 || linesStarting(out, "isolate-host-det-9") != 0 {
		t.Errorf("riposte approvals printed %d lines for one gate (its why forged a row):\n%s", n, out)
	}
}
