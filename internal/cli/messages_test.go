package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// fakeAPI answers the paths in routes with their JSON (status 200) and
// everything else with 404; a route value of status 401 refuses.
func fakeAPI(t *testing.T, routes map[string]any) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := routes[r.URL.Path]
		if !ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"title":"Run not found","status":404,"detail":"no run with workflow id \"x\""}`))
			return
		}
		if code, ok := v.(int); ok {
			w.WriteHeader(code)
			_, _ = w.Write([]byte(`{"title":"Unauthorized","status":401,"detail":"missing or wrong API token"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestUnauthorizedSaysWhereTheTokenComesFrom(t *testing.T) {
	t.Setenv("RIPOSTE_API_TOKEN", "")
	srv := fakeAPI(t, map[string]any{"/v1/runs": http.StatusUnauthorized})
	code, _, stderr := runCLI(t, "runs", "list", "--api", srv.URL, "--data-dir", t.TempDir())
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{"401 Unauthorized", "token used: none", "--token", "RIPOSTE_API_TOKEN", filepath.Join(".riposte", "api-token")} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	_, _, stderr = runCLI(t, "runs", "list", "--api", srv.URL, "--token", "wrong")
	if !strings.Contains(stderr, "token used: --token") {
		t.Errorf("stderr = %s", stderr)
	}
}

func TestRunsListRefusesUnknownFilters(t *testing.T) {
	for _, args := range [][]string{{"--status", "bogus"}, {"--outcome", "fine"}, {"--kind", "rollbak"}} {
		code, stdout, stderr := runCLI(t, append([]string{"runs", "list", "--api", "http://127.0.0.1:1"}, args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "is not one of") || !strings.Contains(stderr, args[1]) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

func TestExtendMessages(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"RUN", "block", "4x", "--as", "U1"}, `"4x" is not a duration; use e.g. 30m, 4h or 2d (at most 365d)`},
		{[]string{"RUN", "4h", "--as", "U1"}, "got 2 argument(s), want RUN STEP DURATION"},
	} {
		t.Setenv("RIPOSTE_USER", "")
		code, _, stderr := runCLI(t, append([]string{"extend", "--api", "http://127.0.0.1:1"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, stderr, tc.want)
		}
		if strings.Contains(stderr, "are required") {
			t.Errorf("%v: blames missing arguments: %s", tc.args, stderr)
		}
	}
}

func TestRunsShowRollbackAndHolds(t *testing.T) {
	until := time.Now().Add(3 * time.Hour)
	at := time.Now().Add(-time.Minute)
	rollback := api.RunDetail{
		RunSummary: api.RunSummary{WorkflowID: "rollback:det-1/pb", RunID: "r2", Kind: api.KindRollback, RollbackOf: "det-1/pb", RequestedBy: "UALICE", Status: "succeeded", ClosedAt: &at},
		Steps:      []workflows.StepResult{{ID: "block.rollback", Action: "panos.unblock_ip", Status: "succeeded"}},
	}
	orig := api.RunDetail{
		RunSummary: api.RunSummary{WorkflowID: "det-1/pb", RunID: "r1", Kind: api.KindPlaybook, Playbook: "pb", Version: 3, Status: "holding",
			Outcome: "contained", RolledBackBy: "UALICE", RolledBackAt: &at},
		RollbackRun: "rollback:det-1/pb",
		Holds:       []workflows.Hold{{Step: "block", Undo: "panos.unblock_ip", Until: until}},
	}
	srv := fakeAPI(t, map[string]any{"/v1/runs/rollback:det-1/pb": rollback, "/v1/runs/det-1/pb": orig,
		"/v1/runs": map[string]any{"runs": []api.RunSummary{rollback.RunSummary, orig.RunSummary}}})
	code, out, stderr := runCLI(t, "runs", "show", "rollback:det-1/pb", "--api", srv.URL, "--token", "t")
	if code != 0 || !strings.Contains(out, "rollback of: det-1/pb (requested by UALICE)") || !strings.Contains(out, "block.rollback") || strings.Contains(out, "playbook:") {
		t.Errorf("show rollback: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = runCLI(t, "runs", "show", "det-1/pb", "--api", srv.URL, "--token", "t")
	for _, want := range []string{"outcome:   contained", "rolled back: by UALICE at ", "(rollback:det-1/pb)", "hold:      block: releases (panos.unblock_ip) at " + until.Local().Format("2006-01-02 15:04:05")} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("show: lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	code, out, _ = runCLI(t, "runs", "list", "--api", srv.URL, "--token", "t")
	for _, want := range []string{"OUTCOME", "(rollback)", "rollback of det-1/pb by UALICE", "rolled back by UALICE"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("list: lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	code, _, stderr = runCLI(t, "runs", "show", "nope", "--api", srv.URL, "--token", "t")
	if code != 1 || !strings.Contains(stderr, "riposte runs list") {
		t.Errorf("show unknown run: exit %d, %s", code, stderr)
	}
}

func TestHoldsCommand(t *testing.T) {
	until := time.Now().Add(90 * time.Minute)
	srv := fakeAPI(t, map[string]any{"/v1/holds": map[string]any{"holds": []api.ActiveHold{
		{Hold: workflows.Hold{Step: "block", Undo: "panos.unblock_ip", Until: until}, WorkflowID: "det-1/pb", Playbook: "pb"},
	}}})
	code, out, stderr := runCLI(t, "holds", "--api", srv.URL, "--token", "t")
	if code != 0 || !strings.Contains(out, until.Local().Format("2006-01-02 15:04:05")) || !strings.Contains(out, "det-1/pb") || !strings.Contains(out, "panos.unblock_ip") {
		t.Errorf("holds: exit %d\n%s%s", code, out, stderr)
	}
	var b bytes.Buffer
	printHolds(&b, nil, time.Now())
	if b.String() != "no active holds\n" {
		t.Errorf("empty: %q", b.String())
	}
}

func TestUILinks(t *testing.T) {
	code, out, stderr := runCLI(t, "ui-links", "--ui", "http://ui.example:8233/", "--namespace", "soc", "--playbooks", "../../playbooks")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"waiting for approval", "http://ui.example:8233/namespaces/soc/workflows?query=RunStatus+%3D+%27waiting_approval%27",
		"holding", "(RunStatus = 'holding' OR HoldUntil IS NOT NULL) AND ExecutionStatus = 'Running'", "failed today", "RunStatus = 'failed' AND StartTime >= '" + time.Now().UTC().Format("2006-01-02") + "T00:00:00Z'",
		"playbook ransomware-behaviour", "PlaybookName = 'ransomware-behaviour'",
		"not contained", "Outcome IN ('not_contained', 'partially_contained')",
		"rolled back", "RolledBackBy IS NOT NULL", "rollback runs", "WorkflowType = 'riposte.rollback'",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	if code, _, stderr := runCLI(t, "ui-links", "--ui", "ui.example"); code != 2 || !strings.Contains(stderr, "not an http(s) URL") {
		t.Errorf("bad --ui: %d %s", code, stderr)
	}
}

func TestValidateEndsEveryDiagnosticWithANewline(t *testing.T) {
	dir := t.TempDir()
	// No final newline; the flow sequence that is broken begins on line 8.
	src := "apiVersion: riposte/v1\nname: x\nversion: 1\ntrigger: {when: \"true\"}\nsteps:\n  - id: a\n    action: core.noop\n    with: {a: [1, 2}"
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var both bytes.Buffer
	code := Main(context.Background(), []string{"validate", dir}, Streams{In: strings.NewReader(""), Out: &both, Err: &both})
	want := filepath.Join(dir, "bad.yaml") + ":8:1: YAML syntax: did not find expected ',' or ']'\n" +
		"   |     with: {a: [1, 2}\n   | ^\n1 problem in 1 of 1 file\n"
	if code != 1 || both.String() != want {
		t.Errorf("exit %d, output\n%q\nwant\n%q", code, both.String(), want)
	}
}

// validate --format json gives each problem with its position and the
// same caret snippet as the text output, and the names of valid playbooks;
// exit 1 on a problem, 0 without, 2 for an unknown format.
func TestValidateJSON(t *testing.T) {
	dir := t.TempDir()
	bad := "apiVersion: riposte/v1\nname: bad\nversion: 1\ntrigger: {when: 'true'}\nsteps:\n  - id: a\n    action: core.noop\n    timeout: 5 minutes\n"
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"validate", "--format", "json", dir}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	var got struct {
		Valid       bool     `json:"valid"`
		Files       int      `json:"files"`
		Playbooks   []string `json:"playbooks"`
		Diagnostics []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Col     int    `json:"col"`
			Message string `json:"message"`
			Snippet string `json:"snippet"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if code != 1 || got.Valid || got.Files != 1 || len(got.Diagnostics) != 1 {
		t.Fatalf("exit %d, %+v", code, got)
	}
	d := got.Diagnostics[0]
	if d.File != filepath.Join(dir, "bad.yaml") || d.Line != 8 || d.Col != 14 || !strings.Contains(d.Message, `invalid duration "5 minutes"`) ||
		d.Snippet != " |     timeout: 5 minutes\n | .............^" {
		t.Errorf("diagnostic %+v", d)
	}
	var text bytes.Buffer
	Main(context.Background(), []string{"validate", dir}, Streams{In: strings.NewReader(""), Out: &text, Err: &text})
	if !strings.Contains(text.String(), strings.ReplaceAll(d.Snippet, "\n", "\n  ")) {
		t.Errorf("the text output does not show the same snippet:\n%s", text.String())
	}

	good := strings.Replace(strings.Replace(bad, "5 minutes", "5m", 1), "name: bad", "name: good", 1)
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	code = Main(context.Background(), []string{"validate", "--format", "json", dir}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || code != 0 || !got.Valid || len(got.Diagnostics) != 0 || len(got.Playbooks) != 1 || got.Playbooks[0] != "good" {
		t.Errorf("valid set: exit %d, %v, %s", code, err, out.String())
	}
	if code := Main(context.Background(), []string{"validate", "--format", "yaml", dir}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 2 {
		t.Errorf("--format yaml: exit %d", code)
	}
}

// serve refuses to start with neither the shared token nor a personal
// tokens file (README, Production): an API nobody can call, or anybody.
func TestServeRefusesToStartWithoutTokens(t *testing.T) {
	t.Setenv("RIPOSTE_API_TOKEN", "")
	t.Setenv("RIPOSTE_TOKENS_FILE", "")
	t.Setenv("RIPOSTE_API_TOKEN_FILE", "")
	code, _, stderr := runCLI(t, "serve", "--http", "127.0.0.1:0")
	if code != 2 || !strings.Contains(stderr, "no API token: set RIPOSTE_API_TOKEN or --token-file, or --tokens-file") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// validate and test read ./playbooks when given no path (README, Commands
// and Playbook tests): here the shipped playbooks and their tests.
func TestValidateAndTestDefaultToPlaybooks(t *testing.T) {
	t.Chdir("../..")
	if code, out, stderr := runCLI(t, "validate"); code != 0 || !strings.Contains(out, "ok: ") {
		t.Errorf("validate: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, stderr := runCLI(t, "test"); code != 0 || !strings.Contains(out+stderr, "PASS") {
		t.Errorf("test: exit %d\n%s%s", code, out, stderr)
	}
	t.Chdir(t.TempDir())
	if code, _, stderr := runCLI(t, "test"); code == 0 || !strings.Contains(stderr, "playbooks") {
		t.Errorf("test without ./playbooks: exit %d, %s", code, stderr)
	}
}

// validate of a path with no playbook fails (README, Commands): an empty
// or misspelt directory in CI must not pass as "0 playbooks valid".
func TestValidateNothingIsAProblem(t *testing.T) {
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "only.test.yaml"), []byte("cases: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{empty, filepath.Join(empty, "missing")} {
		code, out, stderr := runCLI(t, "validate", path)
		if code != 1 || !strings.HasPrefix(out, path+":1:1: ") || !strings.Contains(stderr, "1 problem, no playbook read") {
			t.Errorf("validate %s: exit %d\n%s%s", path, code, out, stderr)
		}
	}
	code, out, _ := runCLI(t, "validate", "--format", "json", empty)
	if code != 1 || !strings.Contains(out, `"valid": false`) || !strings.Contains(out, "no playbooks here") {
		t.Errorf("validate --format json of an empty dir: exit %d\n%s", code, out)
	}
}

// riposte runs show of a rollback the API stopped because the withdrawn
// run it was planned for continued as a new run before its mark: the
// view names that run (rollback_of_run) and why it was stopped.
func TestRunsShowStoppedRollbackNamesItsRun(t *testing.T) {
	at := time.Now().Add(-time.Minute)
	rb := api.RunDetail{
		RunSummary: api.RunSummary{WorkflowID: "rollback:w1", RunID: "rb-1", Kind: api.KindRollback, RollbackOf: "w1", RollbackOfRun: "r-a",
			RequestedBy: "U0SOCLEAD1", Status: "terminated", Temporal: "terminated", ClosedAt: &at},
		Steps: []workflows.StepResult{},
		Error: "terminated: planned for run r-a, which continued as run r-b (its finding reopened) before the rollback reached it: refused, ask again",
	}
	srv := fakeAPI(t, map[string]any{"/v1/runs/rollback:w1": rb})
	code, out, stderr := runCLI(t, "runs", "show", "rollback:w1", "--api", srv.URL, "--token", "t")
	if code != 0 || !strings.Contains(out, "rollback of: w1, run r-a (requested by U0SOCLEAD1)") || !strings.Contains(out, "continued as run r-b") {
		t.Errorf("show stopped rollback: exit %d\n%s%s", code, out, stderr)
	}
}
