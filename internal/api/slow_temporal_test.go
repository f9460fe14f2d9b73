package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// hungTemporal is a Temporal frontend that accepted the connection and no
// longer answers (a stalled database, a partition): each call waits for
// its context, as the SDK's does (10 s per call by default, then retries).
type hungTemporal struct{ *fakeStarter }

func (h hungTemporal) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	if strings.Contains(o.ID, "slow-") {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.fakeStarter.ExecuteWorkflow(ctx, o, wf, args...)
}

// riposte serve's HTTP server has a WriteTimeout (60 s). A batch whose
// starts Temporal does not answer kept the handler dispatching past it
// (no deadline of its own: 32 at a time, each start up to the SDK's 10 s
// and its retries), so the caller got no answer at all — a reset
// connection or its own timeout — instead of the 503 with Retry-After
// naming what was not dispatched that README promises. The dispatch now
// stops in time to answer within the server's WriteTimeout.
func TestAPISlowTemporalIsAnsweredWithinWriteTimeout(t *testing.T) {
	st := &fakeStarter{}
	s := newTestServer(t, st)
	s.Dispatcher.Client = hungTemporal{st}
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config.WriteTimeout = 2 * time.Second
	srv.Start()
	defer srv.Close()

	body := det("fast-1", 5, "") + "\n" + det("slow-2", 5, "")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/detections", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	c := &http.Client{Timeout: 6 * time.Second}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("no answer after %v (server WriteTimeout 2s): %v", time.Since(start).Round(time.Millisecond), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(b), "detection 1 could not be dispatched") || !strings.Contains(string(b), "1 other detection(s) were dispatched") {
		t.Errorf("after %v: %d (Retry-After %q) %s; want 503 naming detection 1", time.Since(start).Round(time.Millisecond), resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
}
