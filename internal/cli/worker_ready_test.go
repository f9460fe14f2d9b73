package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/workflows"
)

// TestWorkerNotReadyWhileTemporalIsDown: README ("Health") says riposte
// worker's GET /readyz on RIPOSTE_METRICS_ADDR means "connected and
// polling", and deploy/kubernetes/worker.yaml's readinessProbe (with
// maxUnavailable: 0 in a rolling upgrade) relies on it. /readyz was set to
// 200 once, at start, and never looked again: with the Temporal frontend
// gone, the worker logged "Failed to poll for task." every second and
// /readyz went on answering {"status":"ready"}. It must answer 503 while
// the worker cannot reach Temporal, and 200 again once it can.
func TestWorkerNotReadyWhileTemporalIsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Namespace: "default", UIPort: -1, HTTPPort: -1,
		SearchAttributes: workflows.SearchAttributeTypes()})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = srv.Stop()
		}
	}()

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	t.Setenv("RIPOSTE_CODEC_KEY_FILE", "")
	t.Setenv("RIPOSTE_CODEC_KEYS", fmt.Sprintf(`{"active":"k1","keys":{"k1":%q}}`, base64.StdEncoding.EncodeToString(key)))
	t.Setenv("RIPOSTE_DECISION_KEY_FILE", "")
	t.Setenv("RIPOSTE_DECISION_KEYS", "")
	metrics := freeAddr(t)
	var o workerOptions
	o.Temporal.Address, o.Temporal.Namespace, o.Temporal.TaskQueue = srv.FrontendAddress(), "default", "riposte"
	o.LogLevel = "error"
	o.Observe.MetricsAddr = metrics
	o.Runtime.Config = filepath.Join(t.TempDir(), "none.yaml")
	o.Runtime.StickyCache = 10
	var out, errs syncBuffer
	done := make(chan error, 1)
	wctx, wcancel := context.WithCancel(ctx)
	defer func() { wcancel(); <-done }()
	go func() { done <- runWorker(wctx, o, Streams{Out: &out, Err: &errs}) }()

	readyz := func() (int, string) {
		c := http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get("http://" + metrics + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(bytes.TrimSpace(b))
	}
	waitFor := func(want int, within time.Duration, what string) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			code, body := readyz()
			if code == want {
				return
			}
			select {
			case err := <-done:
				t.Fatalf("riposte worker returned: %v\n%s", err, errs.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: GET /readyz = %d %s after %s, want %d", what, code, body, within, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor(http.StatusOK, 60*time.Second, "worker started and polling")

	// A SIGHUP (serve's reload signal, which `docker compose kill -s HUP`
	// without a service name sends to the workers too) must not kill the
	// worker: its default action ends the process (this test binary)
	// without the worker's steps finishing.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	waitFor(http.StatusOK, 5*time.Second, "after a SIGHUP, the worker still polling")

	// The Temporal frontend goes away under the running worker.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	waitFor(http.StatusServiceUnavailable, 20*time.Second, "Temporal stopped, the worker cannot poll")
}

// freeAddr returns a loopback host:port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
