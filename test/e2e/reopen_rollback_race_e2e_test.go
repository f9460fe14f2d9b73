package e2e

import (
	"context"
	"encoding/json"
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

// handoverFirst is the API's Temporal client with the race made certain:
// when the API starts the rollback it planned for the withdrawn run, the
// record reopening its finding has just arrived, and the run has
// continued as a new run, which took the block over, before the rollback
// starts and the mark is sent.
type handoverFirst struct {
	client.Client
	reopen func() // the reopening record, and the new run holding
}

func (c *handoverFirst) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	if wf == workflows.RollbackWorkflow && c.reopen != nil {
		c.reopen()
		c.reopen = nil
	}
	return c.Client.ExecuteWorkflow(ctx, o, wf, args...)
}

// A rollback asked of the withdrawn run just before it continues as a new
// run for its reopened finding, against the embedded Temporal server.
// Before, Temporal refused the mark (the run had ended), the API logged it
// and answered 202, and the rollback unblocked the address that the new
// run had taken over and still showed held: containment lifted with
// nothing saying so. Now the rollback is stopped before it begins and the
// answer is a 409 naming the new run; asked again, the rollback is the new
// run's and lifts the block.
func TestRollbackAskedJustBeforeTheHandover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	finding := holdFinding("reopen-race-1", "203.0.113.93")
	// Blocked and held, then closed by its detector: withdrawn, holding on.
	wid, first := h.withdrawnHolding(t, finding)

	// An API over the same Temporal whose client lets the handover win.
	var next api.RunDetail
	tc := &handoverFirst{Client: h.sys.Client, reopen: func() {
		if code, r := h.submit(finding(holdT0+120_000, `,"activity_id":2,"status_id":1,"status":"New"`)); code >= 300 {
			t.Errorf("reopen: %d %+v", code, r)
		}
		h.eventually(t, func() string {
			next = h.runDetail(t, wid)
			if next.RunID == first.RunID || next.Status != workflows.RunHolding {
				return fmt.Sprintf("latest run %s: %s; want a new run holding", next.RunID, next.Status)
			}
			return ""
		})
	}}
	var co client.Options // payloads (the memo too) are encrypted
	codec.ConfigureClientOptions(&co, h.sys.Keys, codec.Options{})
	srv := &api.Server{Temporal: tc, Catalog: activities.Catalog(), Keys: h.sys.DecisionKeys, Token: "race-token", DevUser: "U0SOCLEAD1",
		Dispatcher: &dispatch.Dispatcher{Client: tc, TaskQueue: h.sys.Temporal.TaskQueue, Namespace: h.sys.Temporal.Namespace, DataConverter: co.DataConverter},
		Namespace:  h.sys.Temporal.Namespace, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	ask := func() (int, string) {
		req, _ := http.NewRequest("POST", hs.URL+"/v1/runs/"+url.PathEscape(wid)+"/rollback", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer race-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := ask()
	if out, _ := next.Steps[0].Output.(map[string]any); out["already"] != true || out["preexisting"] == true {
		t.Errorf("new run's block: %v; want the first run's block taken over", out)
	}
	// Long enough for a rollback that was not stopped to have run.
	time.Sleep(5 * time.Second)
	blocked := h.sys.Lab.State().BlockedIPs
	next = h.runDetail(t, wid)
	if code != http.StatusConflict || !strings.Contains(body, next.RunID) || !strings.Contains(body, "nothing was undone") {
		t.Errorf("rollback asked of %s as it continued as %s: %d %s\nwant 409 naming the new run, nothing undone", first.RunID, next.RunID, code, body)
	}
	if len(blocked) != 1 || len(next.Holds) != 1 || next.Holds[0].ReleasedAt != nil {
		t.Errorf("blocked %+v, new run's holds %+v: the new run holds the block and it must still be in place", blocked, next.Holds)
	}

	// The stopped rollback was planned for the first run: the new run
	// does not read as rolled back by it.
	if next.RolledBackBy != "" || next.RollbackRun != "" {
		t.Errorf("new run: rolled_back_by %q, rollback_run %q; want none (the stopped rollback was the first run's)", next.RolledBackBy, next.RollbackRun)
	}

	// Asked again: the new run's rollback, which lifts the block.
	code, body = ask()
	var resp api.RollbackResponse
	if err := json.Unmarshal([]byte(body), &resp); code != http.StatusAccepted || err != nil || resp.Existing {
		t.Fatalf("asked again: %d %s; want the new run's rollback started", code, body)
	}
	if rb := h.waitRun("rollback:"+wid, time.Minute); rb.Status != workflows.RunSucceeded || len(h.sys.Lab.State().BlockedIPs) != 0 {
		t.Errorf("rollback of the new run: %s, blocked %+v; want the block lifted", rb.Status, h.sys.Lab.State().BlockedIPs)
	}
	h.eventually(t, func() string {
		if d := h.runDetail(t, wid); d.RolledBackBy != "U0SOCLEAD1" || d.RunID != next.RunID {
			return fmt.Sprintf("run %s: rolled_back_by %q, want the new run marked", d.RunID, d.RolledBackBy)
		}
		return ""
	})
}
