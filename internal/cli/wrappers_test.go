package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// The client commands send the request README's command table describes:
// method, path, query and body, with the token; and print the answer.
func TestClientCommandsSendTheirRequest(t *testing.T) {
	type call struct{ method, path, query, body, auth string }
	var mu sync.Mutex
	var got []call
	reply := map[string]string{
		"/v1/runs":               `{"runs":[]}`,
		"/v1/detections":         `{"results":[]}`,
		"/v1/approvals":          `{"approvals":[]}`,
		"/v1/runs/r-1/rollback":  `{"workflow_id":"rollback:r-1","run_id":"x","existing":true,"undo":[]}`,
		"/v1/runs/r-1/extend":    `{"step":"block","undo":"panos.unblock_ip","until":"2026-12-06T00:00:00Z"}`,
		"/v1/runs/r-1/approvals": `{"outcome":"recorded"}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, call{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Get("Authorization")})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if body, ok := reply[r.URL.Path]; ok {
			_, _ = io.WriteString(w, body)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	det := t.TempDir() + "/d.json"
	if err := os.WriteFile(det, []byte(`{"class_uid":2004}`), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args                           []string
		method, path, query, body, out string
	}{
		{[]string{"runs", "list", "--shadow"}, "GET", "/v1/runs", "shadow=true", "", ""},
		{[]string{"runs", "list", "--kind", "rollback"}, "GET", "/v1/runs", "kind=rollback", "", ""},
		{[]string{"submit", "--dry-run", det}, "POST", "/v1/detections", "dry_run=true", `{"class_uid":2004}`, ""},
		{[]string{"approvals"}, "GET", "/v1/approvals", "", "", "no gates waiting"},
		{[]string{"rollback", "r-1", "--as", "U0SOCLEAD1"}, "POST", "/v1/runs/r-1/rollback", "", `"user":"U0SOCLEAD1"`, "rollback rollback:r-1: already started"},
		{[]string{"extend", "r-1", "block", "4h", "--as", "U0SOCLEAD1"}, "POST", "/v1/runs/r-1/extend", "", `"by":"4h"`, "block: containment now released at"},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		// Flags before the positional arguments, as Go's flag package reads them.
		n := 1
		if tc.args[0] == "runs" {
			n = 2
		}
		args := append(append(append([]string{}, tc.args[:n]...), "--api", srv.URL, "--token", "rpt_test"), tc.args[n:]...)
		code, out, errOut := runCLI(t, args...)
		mu.Lock()
		calls := got
		mu.Unlock()
		name := strings.Join(tc.args, " ")
		if code != 0 || len(calls) != 1 {
			t.Errorf("%s: exit %d, %d calls, stderr %s", name, code, len(calls), errOut)
			continue
		}
		c := calls[0]
		if c.method != tc.method || c.path != tc.path || !strings.Contains(c.query, tc.query) || !strings.Contains(c.body, tc.body) || c.auth != "Bearer rpt_test" {
			t.Errorf("%s: sent %+v; want %s %s ?%s with %s", name, c, tc.method, tc.path, tc.query, tc.body)
		}
		if !strings.Contains(out, tc.out) {
			t.Errorf("%s: printed %q, want %q", name, out, tc.out)
		}
	}
}
