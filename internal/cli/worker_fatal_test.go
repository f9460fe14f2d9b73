package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
	_ "unsafe" // go:linkname, to shorten the SDK's grace period below

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/workflows"
)

// The SDK keeps polling through a "non-retriable" poll error (namespace
// not found, invalid argument) for two minutes before it gives up and
// stops the worker; the test shortens that wait (the SDK's own tests do
// the same through this function).
//
//go:linkname setRetryLongPollGracePeriod go.temporal.io/sdk/internal.SetRetryLongPollGracePeriod
func setRetryLongPollGracePeriod(time.Duration)

// syncBuffer is a bytes.Buffer safe for the worker's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestWorkerExitsWhenItStopsPolling: README ("Health") says riposte
// worker's /readyz means "connected and polling", and deploy/kubernetes
// restarts a worker only when the process exits or /healthz fails. When
// the SDK worker stops for good (its namespace deleted or renamed, an
// invalid task queue: the SDK logs "Worker received non-retriable error.
// Shutting down." and stops polling), riposte worker went on waiting for
// SIGTERM: the process stayed up, alive and ready, and polled nothing,
// so nothing restarted it and the task queue's runs waited. It must exit
// non-zero instead, naming the error.
func TestWorkerExitsWhenItStopsPolling(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	setRetryLongPollGracePeriod(0)
	t.Cleanup(func() { setRetryLongPollGracePeriod(2 * time.Minute) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const ns = "doomed"
	srv, err := devserver.Start(ctx, devserver.Options{Namespace: ns, UIPort: -1, HTTPPort: -1,
		SearchAttributes: workflows.SearchAttributeTypes(),
		// Long polls end every 2 s, so the next poll meets the deletion soon.
		DynamicConfig: map[string]any{"matching.longPollExpirationInterval": 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	t.Setenv("RIPOSTE_CODEC_KEY_FILE", "")
	t.Setenv("RIPOSTE_CODEC_KEYS", fmt.Sprintf(`{"active":"k1","keys":{"k1":%q}}`, base64.StdEncoding.EncodeToString(key)))
	t.Setenv("RIPOSTE_DECISION_KEY_FILE", "")
	t.Setenv("RIPOSTE_DECISION_KEYS", "")
	var o workerOptions
	o.Temporal.Address, o.Temporal.Namespace, o.Temporal.TaskQueue = srv.FrontendAddress(), ns, "riposte"
	o.LogLevel = "info"
	o.Observe.MetricsAddr = "127.0.0.1:0"
	o.Runtime.Config = filepath.Join(t.TempDir(), "none.yaml")
	o.Runtime.StickyCache = 10
	var out, errs syncBuffer
	done := make(chan error, 1)
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	go func() { done <- runWorker(wctx, o, Streams{Out: &out, Err: &errs}) }()

	deadline := time.Now().Add(60 * time.Second)
	for !bytes.Contains([]byte(out.String()), []byte("Riposte worker polling")) {
		select {
		case err := <-done:
			t.Fatalf("the worker did not start: %v\n%s", err, errs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not start within a minute\n%s", errs.String())
		}
	}
	// The namespace goes away under the running worker.
	admin, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("riposte worker stopped polling and returned no error (exit 0): an orchestrator reads that as a clean stop\n%s", errs.String())
		}
		t.Logf("riposte worker: %v", err)
	case <-time.After(30 * time.Second):
		wcancel()
		<-done
		t.Fatalf("the worker stopped polling (namespace %s deleted) but riposte worker kept running, alive and ready, for 30 s: nothing restarts it\nlog:\n%s", ns, errs.String())
	}
}
