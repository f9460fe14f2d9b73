package system

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/labkit"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

// countClient is a Temporal client that only answers CountWorkflow (the
// approvals gauge asks it on scrape); any other call panics.
type countClient struct {
	client.Client
	count int64

	mu      sync.Mutex
	queries []string
}

func (c *countClient) CountWorkflow(_ context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queries = append(c.queries, req.GetQuery())
	return &workflowservice.CountWorkflowExecutionsResponse{Count: c.count}, nil
}

// routesFixture is serve's API as startAPI wires it, with the vendor lab
// and metrics, on a Temporal client that only counts.
type routesFixture struct {
	sys *System
	lab *lab.Lab
	tc  *countClient
}

func newRoutesFixture(t *testing.T) *routesFixture {
	t.Helper()
	// No Slack app: the API starts without one.
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("SLACK_APP_TOKEN", "")
	t.Setenv("SLACK_SIGNING_SECRET", "")
	dir := t.TempDir()
	writePlaybook(t, dir, "a.yaml", reloadPlaybook("alpha", 1))
	writePlaybook(t, dir, "b.yaml", reloadPlaybook("beta", 3))
	logger := slog.New(slog.DiscardHandler)
	b, err := prepareAPI(APIOptions{Addr: "0", Token: reloadToken, Playbooks: []string{dir}}, logger)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lab.Start(lab.Options{Logger: logger})
	if err != nil {
		b.closeListener()
		t.Fatal(err)
	}
	tc := &countClient{count: 3}
	s := &System{
		Temporal: config.Temporal{Namespace: "default", TaskQueue: workflows.DefaultTaskQueue},
		Client:   tc,
		Metrics:  telemetry.NewMetrics(telemetry.MetricsOptions{NoRuntimeCollectors: true}),
		Lab:      l,
		logger:   logger,
		closers:  []func(){b.closeListener, func() { _ = l.Close() }},
	}
	t.Cleanup(s.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.startAPI(ctx, Options{}, b); err != nil {
		t.Fatal(err)
	}
	return &routesFixture{sys: s, lab: l, tc: tc}
}

// get sends GET path to the API's handler, with the shared token.
func (f *routesFixture) get(path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer "+reloadToken)
	w := httptest.NewRecorder()
	f.sys.API.server.Handler.ServeHTTP(w, r)
	return w
}

// GET /v1/lab answers the fake vendors' state, as it is now (README:
// "`GET /v1/lab` (dev) and the page `GET /lab`: the fake vendors' state").
func TestAPILabState(t *testing.T) {
	f := newRoutesFixture(t)
	f.lab.AddHosts("routes-test-host")
	w := f.get("/v1/lab")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET /v1/lab: %d %s; body %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	for _, k := range []string{"url", "contained_hosts", "suspended_users", "blocked_ips", "tickets", "calls", "hosts", "users"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("lab state has no %q: %s", k, w.Body)
		}
	}
	var st labkit.State
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.URL != f.lab.URL() {
		t.Errorf("lab state url %q, want the lab's %q", st.URL, f.lab.URL())
	}
	var hosts []string
	for _, h := range st.Hosts {
		hosts = append(hosts, h.Hostname)
	}
	if !slices.Contains(hosts, "routes-test-host") {
		t.Errorf("lab state hosts %v, want the host just added", hosts)
	}
}

// GET /metrics on the API port answers Prometheus text with Riposte's
// metrics, the approvals gauge asked of Temporal on scrape (README:
// "`GET /healthz`, `GET /metrics`").
func TestAPIMetrics(t *testing.T) {
	f := newRoutesFixture(t)
	w := f.get("/metrics")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s; body %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{
		"# TYPE " + telemetry.MetricDetectionsReceived + " counter\n",
		telemetry.MetricDetectionsReceived + " 0\n",
		"# TYPE " + telemetry.MetricApprovalsPending + " gauge\n",
		telemetry.MetricApprovalsPending + " 3\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	f.tc.mu.Lock()
	defer f.tc.mu.Unlock()
	if len(f.tc.queries) == 0 || f.tc.queries[0] != workflows.PendingApprovalsQuery() {
		t.Errorf("approvals gauge counted %q, want %q", f.tc.queries, workflows.PendingApprovalsQuery())
	}
}

// GET /v1/playbooks lists the loaded playbooks with name, version, mode,
// file, digest and steps (README: "`GET /v1/playbooks`").
func TestAPIPlaybooksList(t *testing.T) {
	f := newRoutesFixture(t)
	w := f.get("/v1/playbooks")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET /v1/playbooks: %d %s; body %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	if got, want := listed(t, w), []string{"alpha@1", "beta@3"}; !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	var body struct {
		Playbooks []struct {
			Name, Mode, File, Digest string
			Version, Steps           int
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	for _, p := range body.Playbooks {
		if p.Mode != "live" || !strings.HasSuffix(p.File, ".yaml") || p.Digest == "" || p.Steps != 1 {
			t.Errorf("playbook %+v: want mode live, its file, a digest and 1 step", p)
		}
	}
}
