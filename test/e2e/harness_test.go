package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/cli"
	"github.com/riposte-dev/riposte/test/harness"
)

// detectionJSON builds a valid OCSF detection.
func detectionJSON(uid string, severity int, extra string) string {
	return fmt.Sprintf(`{"class_uid":2004,"time":1763458937000,"severity_id":%d,"confidence_score":90,
"finding_info":{"uid":%q,"title":"LSASS dump <!channel>"},"metadata":{"product":{"name":"Sentinel-LLM Triage","version":"2.7.1"}},
"device":{"hostname":"fin-ws-042"}%s}`, severity, uid, extra)
}

type devHarness struct {
	t       *testing.T
	dir     string
	sys     *cli.DevSystem
	baseURL string
	token   string
	// personal tokens by user (tokenFor)
	personal map[string]string
}

// tokenFor returns a personal token (read, approve, operate) bound to user,
// created in the dev data dir's token file: decisions are recorded under
// the token's identity, so each person votes with their own.
func (h *devHarness) tokenFor(user string) string {
	h.t.Helper()
	if tok, ok := h.personal[user]; ok {
		return tok
	}
	tok, _, err := auth.NewStore(filepath.Join(h.dir, auth.TokensFile)).Create(user,
		[]string{auth.ScopeApprove, auth.ScopeOperate, auth.ScopeRead}, "test", time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	if h.personal == nil {
		h.personal = map[string]string{}
	}
	h.personal[user] = tok
	return tok
}

func startDevForTest(t *testing.T, dir string, opts ...func(*cli.DevOptions)) *devHarness {
	t.Helper()
	t.Setenv("RIPOSTE_API_TOKEN", "")
	pbDir, _ := filepath.Abs("testdata/playbooks")
	o := cli.DevOptions{DataDir: dir, Playbooks: pbDir, TemporalPort: 0, TemporalHTTPPort: -1, UIPort: 0, HTTP: "0", MaxBody: 4096, LogLevel: "warn"}
	for _, f := range opts {
		f(&o)
	}
	sys, err := cli.StartDev(context.Background(), o, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("startDev: %v", err)
	}
	return &devHarness{t: t, dir: dir, sys: sys, baseURL: sys.API.URL, token: sys.Token}
}

func (h *devHarness) do(method, path, token, body string) (int, []byte) {
	h.t.Helper()
	code, _, b := h.doPrefer(method, path, token, body, "")
	return code, b
}

// doPrefer is do with a Prefer header (none when empty), returning the
// response headers too.
func (h *devHarness) doPrefer(method, path, token, body, prefer string) (int, http.Header, []byte) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.baseURL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if prefer != "" {
		req.Header.Set("Prefer", prefer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (h *devHarness) submit(body string) (int, api.DetectionsResponse) {
	h.t.Helper()
	code, b := h.do("POST", "/v1/detections", h.token, body)
	var r api.DetectionsResponse
	if code < 300 {
		if err := json.Unmarshal(b, &r); err != nil {
			h.t.Fatalf("decoding %s: %v", b, err)
		}
	}
	return code, r
}

// waitRun polls the API until the run is closed.
func (h *devHarness) waitRun(id string, limit time.Duration) api.RunDetail {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		code, b := h.do("GET", "/v1/runs/"+url.PathEscape(id), h.token, "")
		var d api.RunDetail
		if code == 200 {
			_ = json.Unmarshal(b, &d)
			if d.ClosedAt != nil {
				return d
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("run %s did not finish in %s (last: %d %s)", id, limit, code, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type workflowsDetail = api.RunDetail

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// runCLI runs a riposte command in process and returns its exit code,
// standard output and standard error.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestMain(m *testing.M) {
	code := m.Run()
	harness.RemoveBinaries()
	os.Exit(code)
}
