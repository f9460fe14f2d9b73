package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/api"
)

// riposte runs show did not say that a run was reset (the Temporal UI's
// Reset, `temporal workflow reset`) nor from which run, and a run a reset
// ended did not name the run that carries on: the API's reset_from and
// reset_to are printed as a line each. The reset's reason is free text
// and cannot forge a line.
func TestRunsShowSaysItWasReset(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d       api.RunDetail
		want    []string
		notWant []string
	}{
		{"never reset", api.RunDetail{}, nil, []string{"Reset"}},
		{"reset run", api.RunDetail{ResetFrom: &api.ResetFrom{RunID: "run-a", EventID: 4, Reason: "operator reset to the first workflow task"}},
			[]string{"  Reset from run run-a at event 4 (its events before it are that run's: riposte runs show w1 --run-id run-a); reason: operator reset to the first workflow task\n"}, []string{"Reset into"}},
		{"run reset", api.RunDetail{ResetTo: "run-c"}, []string{"  Reset into run run-c (the latest run reset from this one: riposte runs show w1 --run-id run-c)\n"}, []string{"Reset from"}},
		{"reset run reset again", api.RunDetail{ResetFrom: &api.ResetFrom{RunID: "run-a", EventID: 9}, ResetTo: "run-c"},
			[]string{"  Reset from run run-a at event 9 (its events before it are that run's: riposte runs show w1 --run-id run-a)\n", "  Reset into run run-c "}, nil},
		{"record unreadable", api.RunDetail{ResetFrom: &api.ResetFrom{Error: "the run was reset; the run it was reset from cannot be read: frontend down"}},
			[]string{"  Reset from run (unknown: the run was reset; the run it was reset from cannot be read: frontend down)\n"}, nil},
		{"forged reason", api.RunDetail{ResetFrom: &api.ResetFrom{RunID: "run-a", EventID: 4, Reason: "x\n  status:    succeeded"}},
			[]string{"Reset from run run-a"}, []string{"\n  status:    succeeded"}},
	} {
		var b bytes.Buffer
		d := tc.d
		d.WorkflowID, d.RunID, d.Kind, d.Status = "w1", "run-b", api.KindPlaybook, "holding"
		printRun(&b, &d)
		out := b.String()
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: runs show lacks %q:\n%s", tc.name, w, out)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(out, w) {
				t.Errorf("%s: runs show has %q:\n%s", tc.name, w, out)
			}
		}
	}
}

// The run a reset ended is not the latest under its workflow id, and
// riposte runs show showed only the latest: --run-id shows the run a
// reset started from (the API's ?run_id=), where "Reset into" is printed.
func TestRunsShowRunID(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("run_id") == "run-a" {
			_, _ = io.WriteString(w, `{"workflow_id":"w/1","run_id":"run-a","kind":"playbook","status":"terminated","steps":[],"reset_to":"run-b"}`)
			return
		}
		_, _ = io.WriteString(w, `{"workflow_id":"w/1","run_id":"run-b","kind":"playbook","status":"holding","steps":[],"reset_from":{"run_id":"run-a","event_id":4}}`)
	}))
	defer srv.Close()
	code, out, errOut := runCLI(t, "runs", "show", "w/1", "--run-id", "run-a", "--api", srv.URL, "--token", "t")
	if code != 0 || !strings.Contains(out, "Run w/1 (run-a)") || !strings.Contains(out, "Reset into run run-b") {
		t.Errorf("runs show --run-id run-a: exit %d, stderr %q:\n%s\nwant run-a, reset into run-b", code, errOut, out)
	}
	code, out, _ = runCLI(t, "runs", "show", "w/1", "--api", srv.URL, "--token", "t")
	if code != 0 || !strings.Contains(out, "Reset from run run-a at event 4") {
		t.Errorf("runs show: exit %d:\n%s\nwant the latest run, reset from run-a", code, out)
	}
	if want := "/v1/runs/w%2F1?run_id=run-a,/v1/runs/w%2F1?"; strings.Join(asked, ",") != want {
		t.Errorf("asked %v, want %s", asked, want)
	}
	code, _, errOut = runCLI(t, "runs", "list", "--run-id", "run-a", "--api", srv.URL, "--token", "t")
	if code != 2 || !strings.Contains(errOut, "--run-id (runs show only)") {
		t.Errorf("runs list --run-id: exit %d, stderr %q; want it refused (runs show only)", code, errOut)
	}
}
