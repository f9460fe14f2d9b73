package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// riposte rollback of a run that continues a withdrawn one printed only
// what the rollback undoes; the holds the run inherited stay in place
// until their release (README, Reopened findings), and nothing said so:
// the analyst believed the host released. It prints each inherited hold
// left in place (inherited_holds_left), with its targets and release time.
func TestRollbackPrintsInheritedHoldsLeft(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"workflow_id":"rollback:w1","run_id":"rb-1","existing":false,
"undo":[{"step":"isolate","action":"defender.isolate_machine","undo":"defender.unisolate_machine","index":-1,"params":{"hostname":"fin-ws-077"}}],
"inherited_holds_left":[{"step":"inherited:isolate","undo":"defender.unisolate_machine","until":"2026-03-02T13:00:00Z","inherited_from":"r-a","targets":[{"hostname":"fin-ws-042"}]}]}`)
	}))
	defer srv.Close()
	t.Setenv("TZ", "UTC")
	code, out, errOut := runCLI(t, "rollback", "--api", srv.URL, "--token", "rpt_test", "w1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"fin-ws-077", "left in place", "fin-ws-042", "inherited from run r-a", "2026-03-02"} {
		if !strings.Contains(out, want) {
			t.Errorf("riposte rollback printed:\n%s\nwant %q", out, want)
		}
	}
}

// A run that continues a withdrawn one and ended (cancelled, terminated)
// before releasing a hold it inherited: its rollback undoes that hold
// (the API plans it in undo). riposte rollback lists it among what it
// undoes, saying it is the inherited hold the ended run did not release,
// and prints nothing as left in place.
func TestRollbackPrintsInheritedHoldsUndoneOfAnEndedRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"workflow_id":"rollback:w1","run_id":"rb-1","existing":false,
"undo":[{"step":"isolate","action":"defender.isolate_machine","undo":"defender.unisolate_machine","index":-1,"params":{"hostname":"fin-ws-077"}},
{"step":"inherited:isolate","action":"defender.isolate_machine","undo":"defender.unisolate_machine","index":0,"params":{"hostname":"fin-ws-042"}}]}`)
	}))
	defer srv.Close()
	code, out, errOut := runCLI(t, "rollback", "--api", srv.URL, "--token", "rpt_test", "w1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "fin-ws-042") {
			line = l
		}
	}
	if !strings.HasPrefix(line, "  inherited:isolate: defender.unisolate_machine") || !strings.Contains(line, "inherited from the withdrawn run this run continues") ||
		!strings.Contains(line, "nothing releases it any more") || strings.Contains(out, "left in place") {
		t.Errorf("riposte rollback printed:\n%s\nwant fin-ws-042 listed as undone: the inherited hold the ended run did not release", out)
	}
}

// An inherited hold that nothing releases any more and that the rollback
// cannot plan (a result recorded before holds named their targets) was
// printed as "left in place ... released when due" with a release time
// that never comes. It is printed apart, with why nothing releases it, and
// to undo it by hand; a hold without targets prints no empty target list.
func TestRollbackPrintsInheritedHoldsNothingReleases(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"workflow_id":"rollback:w1","run_id":"rb-1","existing":false,
"undo":[{"step":"isolate","action":"defender.isolate_machine","undo":"defender.unisolate_machine","index":-1,"params":{"hostname":"fin-ws-077"}}],
"inherited_holds_left":[{"step":"inherited:isolate","undo":"defender.unisolate_machine","until":"2026-03-02T13:00:00Z","inherited_from":"r-a",
"not_released":"the run has ended, and its record names no targets (recorded by an earlier release): undo it by hand (the run's input lists what it inherited)"}]}`)
	}))
	defer srv.Close()
	t.Setenv("TZ", "UTC")
	code, out, errOut := runCLI(t, "rollback", "--api", srv.URL, "--token", "rpt_test", "w1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "released when due") || strings.Contains(out, "released at") || strings.Contains(out, ": ,") ||
		!strings.Contains(out, "nothing releases") || !strings.Contains(out, "undo it by hand") || !strings.Contains(out, "inherited from run r-a") {
		t.Errorf("riposte rollback printed:\n%s\nwant the inherited hold printed as released by nothing, to undo by hand", out)
	}
}

// riposte rollback RUN --run-id R rolls back run R (one a reset of
// another run terminated): the request names it (run_id), and a hold it
// inherited from the run that was reset, left to that reset's run
// (carried_by), is printed as left in place, held by that run.
func TestRollbackRunIDOfARunTerminatedByAReset(t *testing.T) {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"workflow_id":"rollback:w1","run_id":"rb-1","existing":false,
"undo":[{"step":"block","action":"panos.block_ip","undo":"panos.unblock_ip","index":-1,"params":{"ip":"203.0.113.99"}}],
"inherited_holds_left":[{"step":"inherited:block","undo":"panos.unblock_ip","until":"2026-03-02T13:00:00Z","inherited_from":"r-a","targets":[{"ip":"203.0.113.98"}],"carried_by":"r-c"}]}`)
	}))
	defer srv.Close()
	code, out, errOut := runCLI(t, "rollback", "--api", srv.URL, "--token", "rpt_test", "--run-id", "r-b", "w1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(body, `"run_id":"r-b"`) {
		t.Errorf("request body %s, want run_id r-b", body)
	}
	for _, want := range []string{"203.0.113.99", "left in place", "203.0.113.98", "inherited from run r-a, held by run r-c"} {
		if !strings.Contains(out, want) {
			t.Errorf("riposte rollback printed:\n%s\nwant %q", out, want)
		}
	}
}
