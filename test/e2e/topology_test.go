package e2e

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/test/harness"
	"github.com/riposte-dev/riposte/workflows"
)

// TestProductionTopology runs the production topology in miniature: a
// Temporal server (the embedded one, in this test process) with `riposte
// worker` and `riposte serve` as two separate OS processes of the real
// binary, sharing nothing but Temporal, the payload key and the task queue.
// A detection posted to serve runs on the worker; its history is
// encrypted. Both processes must serve metrics (RIPOSTE_METRICS_ADDR) and
// export traces (OTEL_EXPORTER_OTLP_ENDPOINT) that follow the detection
// from serve's intake through Temporal to the worker's activity: README
// says both work, so their absence fails the test.
func TestProductionTopology(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the riposte binary and starts Temporal, a worker and the API")
	}
	bin, err := harness.RiposteBinary()
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{
		FrontendPort:     0,
		UIPort:           -1,
		HTTPPort:         -1,
		SearchAttributes: workflows.SearchAttributeTypes(),
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })

	work := t.TempDir() // working directory: no riposte.yaml / policy.yaml here
	pbDir := filepath.Join(work, "playbooks")
	if err := os.MkdirAll(pbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pbDir, "topology.yaml"), []byte(topologyPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	otlp := newOTLPReceiver(t)
	token := "rpt_topology_" + harness.RandomHex(8)
	taskQueue := "topology-" + harness.RandomHex(4)
	apiAddr := harness.FreeAddr(t)
	workerMetrics, serveMetrics := harness.FreeAddr(t), harness.FreeAddr(t)
	common := append(harness.CleanEnv(),
		"TEMPORAL_ADDRESS="+srv.FrontendAddress(),
		"TEMPORAL_NAMESPACE="+srv.Namespace(),
		"RIPOSTE_TASK_QUEUE="+taskQueue,
		"RIPOSTE_CODEC_KEYS="+harness.Keyring("topology"),
		"RIPOSTE_LOG_FORMAT=json",
		"RIPOSTE_LOG_LEVEL=info",
		"OTEL_EXPORTER_OTLP_ENDPOINT="+otlp.URL,
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_BSP_SCHEDULE_DELAY=200",
	)
	missing := filepath.Join(work, "absent")
	worker := harness.StartProcess(t, &harness.Process{Name: "worker", Path: bin, Dir: work, Env: append(common, "RIPOSTE_METRICS_ADDR="+workerMetrics, "OTEL_SERVICE_NAME=riposte-worker"),
		Args: []string{"worker", "--config", missing + ".yaml", "--policy", ""}})
	serve := harness.StartProcess(t, &harness.Process{Name: "serve", Path: bin, Dir: work, Env: append(common, "RIPOSTE_API_TOKEN="+token, "RIPOSTE_METRICS_ADDR="+serveMetrics, "OTEL_SERVICE_NAME=riposte-serve"),
		Args: []string{"serve", "--http", apiAddr, "--playbooks", pbDir}})

	harness.WaitFor(t, time.Minute, "worker polling", func() bool {
		worker.MustRun(t)
		return strings.Contains(worker.Output(), "Riposte worker polling "+taskQueue)
	})
	// serve starts runs at the revision of the workers the server lists as
	// polling; on a busy machine the worker's first poll reaches the server
	// a while after "polling" is printed, and a run started before it goes
	// inline at revision 0, without the run ahead checked below.
	waitWorkersAt(ctx, t, srv.FrontendAddress(), taskQueue, workflows.LatestRev)
	base := "http://" + apiAddr
	harness.WaitFor(t, time.Minute, "serve answering /healthz", func() bool {
		serve.MustRun(t)
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	// A detection through the API of one process, run by the other.
	code, resp := topoSubmit(t, base, token, detectionJSON("topo-1", 5, ""))
	if code != 202 || resp.Started != 1 || len(resp.Detections) != 1 || len(resp.Detections[0].Matched) != 1 {
		t.Fatalf("submit: %d %+v", code, resp)
	}
	m := resp.Detections[0].Matched[0]
	if m.Playbook != "topology" || m.Mode != "live" || m.RunID == "" {
		t.Fatalf("match %+v", m)
	}
	var run api.RunDetail
	harness.WaitFor(t, 90*time.Second, "run closed", func() bool {
		worker.MustRun(t)
		serve.MustRun(t)
		c, b := topoGet(t, base+"/v1/runs/"+url.PathEscape(m.WorkflowID), token)
		if c != 200 {
			return false
		}
		run = api.RunDetail{}
		return json.Unmarshal(b, &run) == nil && run.ClosedAt != nil
	})
	if run.Status != workflows.RunSucceeded || len(run.Steps) != 2 {
		t.Fatalf("run %+v", run)
	}
	for _, st := range run.Steps {
		if st.Status != "succeeded" {
			t.Errorf("step %s: %s %s", st.ID, st.Status, st.Error)
		}
	}
	if run.Outputs["host"] != "fin-ws-042" {
		t.Errorf("outputs %v", run.Outputs)
	}
	// Re-sent: deduplicated against the finished run.
	if code, again := topoSubmit(t, base, token, detectionJSON("topo-1", 5, "")); code != 200 || again.Deduplicated != 1 {
		t.Errorf("resubmit: %d %+v", code, again)
	}
	// A wrong token is refused by the serve process.
	if code, _ := topoSubmit(t, base, "wrong", detectionJSON("topo-2", 5, "")); code != 401 {
		t.Errorf("wrong token: %d", code)
	}

	// What Temporal stores is ciphertext: serve encrypted the input with the
	// shared key, and the worker could decrypt it (the run succeeded).
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: harness.QuietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	it := c.GetWorkflowHistory(ctx, m.WorkflowID, m.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	ev, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	in := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(in) == 0 || string(in[0].GetMetadata()["encoding"]) != "binary/encrypted" {
		t.Errorf("workflow input is not encrypted: %v", in)
	}
	// The worker process ran record ahead in lookup's local call
	// (workflows.RevRunAhead): one marker for both steps, and record's
	// message rendered from lookup's output.
	markers := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if m := ev.GetMarkerRecordedEventAttributes(); m != nil && m.GetMarkerName() == "LocalActivity" {
			markers++
		}
	}
	if markers != 1 {
		t.Errorf("%d local activity markers, want 1 for lookup and record", markers)
	}
	if p, _ := run.Steps[1].Params.(map[string]any); p["message"] != "looked up fin-ws-042" {
		t.Errorf("record's params %v", run.Steps[1].Params)
	}

	t.Run("metrics", func(t *testing.T) {
		wf := scrapeMetrics(t, "worker", "http://"+workerMetrics+"/metrics")
		sf := scrapeMetrics(t, "serve", "http://"+serveMetrics+"/metrics")
		expect := func(name string, fams map[string]string, key string, min float64) {
			t.Helper()
			v, ok := fams[key]
			var f float64
			if ok {
				_, _ = fmt.Sscan(v, &f)
			}
			if !ok || f < min {
				t.Errorf("%s metrics: %s = %q, want >= %v", name, key, v, min)
			}
		}
		expect("worker", wf, `riposte_step_duration_seconds_count{action="core.noop",status="succeeded"}`, 1)
		expect("worker", wf, `riposte_step_duration_seconds_count{action="core.log",status="succeeded"}`, 1)
		expect("worker", wf, `riposte_runs_finished_total{playbook="topology",status="succeeded"}`, 1)
		expect("serve", sf, `riposte_runs_started_total{mode="live",playbook="topology"}`, 1)
		expect("serve", sf, `riposte_detections_received_total`, 2)
		expect("serve", sf, `riposte_detections_deduplicated_total`, 1)
		expect("serve", sf, `riposte_detections_rejected_total{reason="unauthorized"}`, 1)
		expect("serve", sf, `riposte_api_requests_total{code="202",route="POST /v1/detections"}`, 1)
		if !hasPrefix(wf, "temporal_") {
			t.Error("worker exposes no Temporal SDK metrics")
		}
	})

	t.Run("traces", func(t *testing.T) {
		var intake, activity otlpSpan
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			var ok1, ok2 bool
			intake, ok1 = otlp.find("riposte-serve", "POST /v1/detections")
			activity, ok2 = otlp.find("riposte-worker", "RunActivity:core.noop")
			if ok1 && ok2 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if otlp.count() == 0 {
			t.Fatal("no spans reached the OTLP endpoint: worker and serve export no traces (OTEL_EXPORTER_OTLP_ENDPOINT)")
		}
		if intake.traceID == "" || activity.traceID == "" {
			t.Fatalf("spans received %v, but not the intake span and the activity span", otlp.names())
		}
		if intake.traceID != activity.traceID {
			t.Errorf("the activity ran in trace %s, the intake in %s: the trace is not propagated through Temporal", activity.traceID, intake.traceID)
		}
	})
}

const topologyPlaybook = `apiVersion: riposte/v1
name: topology
version: 1
trigger:
  when: detection.severity_id >= 4
steps:
  - id: lookup
    action: core.noop
    with: {hostname: "${{ detection.device?.hostname ?? 'unknown' }}"}
  - id: record
    action: core.log
    needs: [lookup]
    with: {message: "looked up ${{ steps.lookup.output.hostname }}"}
outputs:
  host: steps.lookup.output.hostname
`

func topoGet(t *testing.T, u, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func topoSubmit(t *testing.T, base, token, body string) (int, api.DetectionsResponse) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/detections", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /v1/detections: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r api.DetectionsResponse
	if resp.StatusCode < 300 {
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("decoding %s: %v", b, err)
		}
	}
	return resp.StatusCode, r
}

// scrapeMetrics returns the samples of a Prometheus endpoint by
// name{labels}; nothing listening there fails the test.
func scrapeMetrics(t *testing.T, name, u string) map[string]string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("riposte %s serves no metrics on RIPOSTE_METRICS_ADDR: %v", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("scraping %s: %d", name, resp.StatusCode)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s metrics: %v", name, err)
	}
	out := map[string]string{}
	for fname, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := fname
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = fmt.Sprint(m.GetCounter().GetValue())
			case m.Gauge != nil:
				out[key] = fmt.Sprint(m.GetGauge().GetValue())
			case m.Histogram != nil:
				out[strings.Replace(key, fname, fname+"_count", 1)] = fmt.Sprint(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func hasPrefix(m map[string]string, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// otlpReceiver is an in-process OTLP/HTTP trace endpoint.
type otlpReceiver struct {
	URL   string
	mu    sync.Mutex
	spans []otlpSpan
}

type otlpSpan struct {
	service, name, traceID string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		var in coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		r.mu.Lock()
		for _, rs := range in.GetResourceSpans() {
			service := ""
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					r.spans = append(r.spans, otlpSpan{service: service, name: s.GetName(), traceID: hex.EncodeToString(s.GetTraceId())})
				}
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *otlpReceiver) find(service, name string) (otlpSpan, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.spans {
		if s.service == service && s.name == name {
			return s, true
		}
	}
	return otlpSpan{}, false
}

func (r *otlpReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.spans)
}

func (r *otlpReceiver) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.spans {
		out = append(out, s.service+"/"+s.name)
	}
	return out
}
