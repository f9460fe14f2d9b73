package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// A request the API took but did not answer in time (a large submit, an
// overloaded server), or that the user interrupted (Ctrl-C), was reported
// as "calling the Riposte API at …: context canceled (is it running? start
// it with riposte dev …)", exit 1: wrong about the API, and silent that a
// decision or detection sent may have been carried out. An interruption
// exits 130 saying so; a timeout says the API did not answer within the
// --timeout, and that the request may still be carried out.
func TestRequestWithoutAnswer(t *testing.T) {
	srv := silentAPI(t)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"approve", "RUN", "isolate", "--api", srv.URL, "--token", "t"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != 130 || !strings.Contains(errb.String(), "interrupted") || !strings.Contains(errb.String(), "may have") || strings.Contains(errb.String(), "is it running") {
		t.Errorf("interrupted approve: exit %d, stderr %s", code, errb.String())
	}

	// riposte submit a.json b.json interrupted on a.json sends nothing more.
	det := t.TempDir() + "/d.json"
	if err := os.WriteFile(det, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	errb.Reset()
	code = Main(ctx, []string{"submit", det, det, "--api", srv.URL, "--token", "t"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != 130 || strings.Count(errb.String(), "interrupted") != 1 {
		t.Errorf("interrupted submit: exit %d, stderr %s", code, errb.String())
	}

	code, _, stderr := runCLI(t, "approve", "RUN", "isolate", "--api", srv.URL, "--token", "t", "--timeout", "100ms")
	if code != 1 || !strings.Contains(stderr, "did not answer") || !strings.Contains(stderr, "100ms") || !strings.Contains(stderr, "may still") || strings.Contains(stderr, "is it running") {
		t.Errorf("approve past --timeout: exit %d, stderr %s", code, stderr)
	}
}

// silentAPI is an API that takes every request and never answers (until
// the request's context ends or the test does).
func silentAPI(t *testing.T) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(done)
		srv.Close()
	})
	return srv
}
