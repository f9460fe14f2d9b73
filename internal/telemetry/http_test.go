package telemetry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTPMiddlewareCountsByRoute(t *testing.T) {
	m := NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/runs/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") })
	mux.HandleFunc("POST /v1/detections", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		w.WriteHeader(http.StatusTeapot) // ignored by net/http and by the recorder
	})
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	srv := httptest.NewServer(HTTPMiddleware(m, mux, nil))
	defer srv.Close()
	for _, p := range []string{"/v1/runs/a", "/v1/runs/b", "/nope/1", "/nope/2", "/boom"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Post(srv.URL+"/v1/detections", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("status %d", resp.StatusCode)
	}
	fams := scrape(t, m.Handler())
	wantValue(t, fams, "riposte_api_requests_total", "code=200,route=GET /v1/runs/{id}", 2)
	wantValue(t, fams, "riposte_api_requests_total", "code=404,route=unmatched", 2)
	wantValue(t, fams, "riposte_api_requests_total", "code=413,route=POST /v1/detections", 1)
	wantValue(t, fams, "riposte_api_requests_total", "code=500,route=GET /boom", 1)
}

func TestServeMetrics(t *testing.T) {
	m := NewMetrics()
	m.RunStarted("pb", "live")
	s, err := ServeMetrics("127.0.0.1:0", m)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `riposte_runs_started_total{mode="live",playbook="pb"} 1`) {
		t.Errorf("metrics: %d %s", resp.StatusCode, b)
	}
	resp, err = http.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}
	// Not ready until the process says so (a worker: polling).
	ready := func() int {
		resp, err := http.Get(s.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := ready(); c != 503 {
		t.Errorf("readyz before SetReady: %d, want 503", c)
	}
	s.SetReady(true)
	if c := ready(); c != 200 {
		t.Errorf("readyz after SetReady: %d, want 200", c)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if _, err := http.Get(s.URL + "/metrics"); err == nil {
		t.Error("still serving after Close")
	}
	var nilServer *MetricsServer
	if err := nilServer.Close(); err != nil {
		t.Error(err)
	}
}

func TestWatchApprovalsPending(t *testing.T) {
	m := NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	var calls atomic.Int32
	var fail atomic.Bool
	m.WatchApprovalsPending(func(ctx context.Context) (int64, error) {
		calls.Add(1)
		if fail.Load() {
			return 0, errors.New("visibility unavailable")
		}
		return 5, nil
	}, time.Hour)
	fams := scrape(t, m.Handler())
	wantValue(t, fams, "riposte_approvals_pending", "", 5)
	scrape(t, m.Handler())
	if calls.Load() != 1 {
		t.Errorf("count called %d times within the ttl", calls.Load())
	}

	// A failing count is not shown as the last value (stale approvals
	// read as current while visibility is down): the gauge is absent
	// until a count succeeds again, retried on every scrape.
	m2 := NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	m2.SetApprovalsPending(3)
	fail.Store(true)
	calls.Store(0)
	m2.WatchApprovalsPending(func(ctx context.Context) (int64, error) {
		calls.Add(1)
		if fail.Load() {
			return 0, errors.New("down")
		}
		return 7, nil
	}, time.Millisecond)
	if _, ok := scrape(t, m2.Handler())["riposte_approvals_pending"]; ok {
		t.Error("riposte_approvals_pending exported while its count fails")
	}
	time.Sleep(2 * time.Millisecond)
	if _, ok := scrape(t, m2.Handler())["riposte_approvals_pending"]; ok {
		t.Error("riposte_approvals_pending exported while its count fails")
	}
	fail.Store(false)
	time.Sleep(2 * time.Millisecond)
	wantValue(t, scrape(t, m2.Handler()), "riposte_approvals_pending", "", 7)
	if calls.Load() != 3 {
		t.Errorf("count called %d times, want 3 (each scrape after a failure)", calls.Load())
	}
}
