package connector

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// A worker calls one vendor from many activities at once. The connectors'
// client keeps those connections for the next calls: a second wave of 64
// concurrent calls to the same host (README's figure) opens none (Go's
// default transport keeps 2 idle per host, so it would open 62 more, each a
// TLS handshake against a real vendor).
func TestEnvReusesConnectionsToOneVendor(t *testing.T) {
	const inFlight = 64
	var opened atomic.Int64
	release := make(chan struct{})
	var arrived sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release // every call of a wave is in flight at once
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	client := NewEnv(nil).httpClient(&url.URL{})
	wave := func() {
		t.Helper()
		arrived.Add(inFlight)
		var done sync.WaitGroup
		for range inFlight {
			done.Add(1)
			go func() {
				defer done.Done()
				resp, err := client.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		arrived.Wait()
		for range inFlight {
			release <- struct{}{}
		}
		done.Wait()
	}
	wave()
	first := opened.Load()
	if first != inFlight {
		t.Fatalf("first wave opened %d connections, want %d (one per call in flight)", first, inFlight)
	}
	wave()
	if again := opened.Load() - first; again != 0 {
		t.Errorf("second wave opened %d new connections, want 0: idle ones were closed instead of kept", again)
	}
}

// The connectors' transport still takes its proxy from the environment
// (HTTPS_PROXY, NO_PROXY), as Go's default does.
func TestTransportUsesEnvironmentProxy(t *testing.T) {
	if NewTransport().Proxy == nil {
		t.Fatal("the connectors' transport has no proxy function: HTTPS_PROXY would be ignored")
	}
}
