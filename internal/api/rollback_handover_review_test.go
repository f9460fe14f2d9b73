package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
)

// A rollback of the withdrawn run r-a, which still runs (holding
// fin-ws-042), whose rolled_back mark Temporal refuses for another reason
// than a handover (here Unavailable: a frontend restarting). r-a never
// took the mark: it does not know of the rollback, and a record reopening
// its finding may continue it as a new run at any moment, handing over
// the hold the rollback is about to lift. The API only logged the refusal
// and answered 202, leaving the delayed rollback to begin. It must stop
// that rollback (nothing undone yet) and say to ask again.
func TestRollbackOfWithdrawnRunWhoseMarkFailsIsStopped(t *testing.T) {
	srv, toks, logs := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.signalErr = serviceerror.NewUnavailable("frontend is not healthy yet")
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if len(c.started) != 1 || c.started[0].StartDelay <= 0 {
		t.Fatalf("started %d rollbacks (delay %v); want one, delayed", len(c.started), c.started)
	}
	if len(c.terminated) != 1 || c.terminated[0] != "rollback:w1/rb-1" {
		t.Errorf("terminated %v; want rollback:w1/rb-1 stopped (r-a did not take its mark)", c.terminated)
	}
	if got.code != http.StatusServiceUnavailable || !strings.Contains(got.body, "nothing was undone") ||
		!strings.Contains(got.body, "riposte rollback w1") || !strings.Contains(got.body, "frontend is not healthy yet") {
		t.Errorf("status %d: %s\nwant 503 saying nothing was undone, why, and to ask again", got.code, got.body)
	}
	if !strings.Contains(logs.String(), "audit: rollback stopped") || !strings.Contains(logs.String(), "frontend is not healthy yet") {
		t.Errorf("audit log does not say the rollback was stopped and why:\n%s", logs.String())
	}
}

// The handover race under load: r-a continued as r-b before the mark,
// and Temporal took longer than the rollback's start delay to answer its
// termination. The API judged "stopped before it began" before it sent
// the termination, and answered "nothing was undone" although the
// rollback may have begun undoing what r-b now holds. Whether the delay
// had run out can only be told once the termination has been answered.
func TestRollbackStoppedAfterItsDelaySaysItMayHaveBegun(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.continueOnSignal = true
	c.terminateTakes = rollbackMarkDelay + 200*time.Millisecond
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if len(c.terminated) != 1 {
		t.Fatalf("terminated %v; want the rollback planned for r-a stopped", c.terminated)
	}
	if got.code != http.StatusConflict || strings.Contains(got.body, "nothing was undone") ||
		!strings.Contains(got.body, "may have begun undoing") || !strings.Contains(got.body, "riposte runs show rollback:w1") {
		t.Errorf("status %d: %s\nwant a 409 saying the stopped rollback may have begun undoing (riposte runs show rollback:w1), not that nothing was undone", got.code, got.body)
	}
}
