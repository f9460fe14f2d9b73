package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// riposte submit a.json missing.json c.json stopped at the file it could
// not read: c.json was never sent, and nothing said so (the error named
// only missing.json). A file that cannot be read is reported like one the
// API refused, and the files after it are still sent.
func TestSubmitGoesOnAfterAnUnreadableFile(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		_, _ = io.WriteString(w, `{"detections":[]}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	a, c := filepath.Join(dir, "a.json"), filepath.Join(dir, "c.json")
	for _, f := range []string{a, c} {
		if err := os.WriteFile(f, []byte(`{"file":"`+filepath.Base(f)+`"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.json")
	code, _, stderr := runCLI(t, "submit", a, missing, c, "--api", srv.URL, "--token", "t")
	if code != 1 || !strings.Contains(stderr, "missing.json") || !strings.Contains(stderr, "1 of 3 file") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	if len(bodies) != 2 || !strings.Contains(strings.Join(bodies, " "), "c.json") {
		t.Errorf("sent %d file(s): %q; want a.json and c.json (the file after the unreadable one too)", len(bodies), bodies)
	}
}
