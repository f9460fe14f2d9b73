package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/workflows"
)

// markLost is the API's Temporal client with the rolled_back mark lost:
// the API process died between the rollback's start and the mark (the
// worker sees the same thing: a rollback started, no mark sent).
type markLost struct{ client.Client }

func (c *markLost) SignalWorkflow(ctx context.Context, id, runID, name string, arg any) error {
	if name == workflows.SignalRolledBack {
		return nil
	}
	return c.Client.SignalWorkflow(ctx, id, runID, name, arg)
}

// A rollback of the withdrawn run holding a block, whose mark never
// reached the run, against the embedded Temporal server; the record
// reopening the finding arrives right behind it, and the run continues as
// a new run that takes the block over. Before, the rollback began after
// its start delay and unblocked the address the new run still showed
// held. Started with mark_first, it finds that its run never took its
// mark and is refused, undoing nothing: the block stays, held by the new
// run.
func TestRollbackWhoseMarkWasLostUndoesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	if *record {
		dir = recordingDir(t) // the replay guard's key
	}
	h := startDevForTest(t, dir)
	defer h.sys.Close()
	finding := holdFinding("mark-lost-1", "203.0.113.94")
	// Blocked and held, then closed by its detector: withdrawn, holding on.
	wid, first := h.withdrawnHolding(t, finding)

	tc := &markLost{Client: h.sys.Client}
	var co client.Options
	codec.ConfigureClientOptions(&co, h.sys.Keys, codec.Options{})
	srv := &api.Server{Temporal: tc, Catalog: activities.Catalog(), Keys: h.sys.DecisionKeys, Token: "lost-token", DevUser: "U0SOCLEAD1",
		Dispatcher: &dispatch.Dispatcher{Client: tc, TaskQueue: h.sys.Temporal.TaskQueue, Namespace: h.sys.Temporal.Namespace, DataConverter: co.DataConverter},
		Namespace:  h.sys.Temporal.Namespace, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	req, _ := http.NewRequest("POST", hs.URL+"/v1/runs/"+url.PathEscape(wid)+"/rollback", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer lost-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The reopening record, right behind the rollback.
	if code, r := h.submit(finding(holdT0+120_000, `,"activity_id":2,"status_id":1,"status":"New"`)); code >= 300 {
		t.Fatalf("reopen: %d %+v", code, r)
	}
	rb := h.waitRun("rollback:"+wid, time.Minute)
	next := h.runDetail(t, wid)
	blocked := h.sys.Lab.State().BlockedIPs
	if rb.Status == workflows.RunSucceeded || !strings.Contains(rb.Error, "nothing undone") || len(blocked) != 1 {
		t.Errorf("rollback whose mark was lost: %s (%s), blocked %+v; want it refused, undoing nothing, the block in place", rb.Status, rb.Error, blocked)
	}
	h.eventually(t, func() string {
		if next = h.runDetail(t, wid); next.RunID == first.RunID || len(next.Holds) != 1 || next.Holds[0].ReleasedAt != nil {
			return fmt.Sprintf("latest run %s, holds %+v; want the new run holding the block", next.RunID, next.Holds)
		}
		return ""
	})
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 1 {
		t.Errorf("blocked %+v once the new run holds; want the block in place", blocked)
	}
	if *record {
		// A rollback started with mark_first whose run never took its
		// mark: refused, nothing undone (rollback-mark-first).
		saveHistory(t, h.sys.Client, "rollback:"+wid, rb.RunID, *recordPrefix+"rollback-mark-first-lost")
		copyStore(t, h.dir)
	}
}
