package telemetry

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// otlpSpan is a received span, flattened.
type otlpSpan struct {
	service  string
	name     string
	traceID  string
	spanID   string
	parentID string
	attrs    map[string]string
}

// collector stores what an in-process OTLP receiver got.
type collector struct {
	mu    sync.Mutex
	spans []otlpSpan
}

func (c *collector) add(req *coltracepb.ExportTraceServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, flatten(service, s))
			}
		}
	}
}

func flatten(service string, s *tracepb.Span) otlpSpan {
	attrs := map[string]string{}
	for _, a := range s.GetAttributes() {
		attrs[a.GetKey()] = a.GetValue().GetStringValue() // "" for non-strings
	}
	return otlpSpan{service: service, name: s.GetName(), traceID: hex.EncodeToString(s.GetTraceId()),
		spanID: hex.EncodeToString(s.GetSpanId()), parentID: hex.EncodeToString(s.GetParentSpanId()), attrs: attrs}
}

func (c *collector) byName(name string) (otlpSpan, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.spans {
		if s.name == name {
			return s, true
		}
	}
	return otlpSpan{}, false
}

// otlpHTTPReceiver is an OTLP/HTTP trace endpoint (protobuf) on httptest.
func otlpHTTPReceiver(t *testing.T, c *collector) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.Error(w, "not found", 404)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		c.add(&req)
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type grpcTraceService struct {
	coltracepb.UnimplementedTraceServiceServer
	c *collector
}

func (g *grpcTraceService) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	g.c.add(req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// restoreGlobals puts back the global tracer provider and propagator.
func restoreGlobals(t *testing.T) {
	tp, prop := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(prop)
	})
}

func clearOTelEnv(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER",
		"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(k, "")
	}
}

func TestSetupTracingNoEndpointIsNoop(t *testing.T) {
	clearOTelEnv(t)
	restoreGlobals(t)
	before := otel.GetTracerProvider()
	shutdown, err := SetupTracing(context.Background(), TracingOptions{ServiceName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() != before {
		t.Error("SetupTracing replaced the tracer provider without an endpoint")
	}
	if (TracingOptions{}).Enabled() {
		t.Error("Enabled without an endpoint")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	if !(TracingOptions{}).Enabled() {
		t.Error("not Enabled with OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	t.Setenv("OTEL_SDK_DISABLED", "true")
	if (TracingOptions{}).Enabled() {
		t.Error("Enabled with OTEL_SDK_DISABLED=true")
	}
	t.Setenv("OTEL_SDK_DISABLED", "")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	if _, err := SetupTracing(context.Background(), TracingOptions{}); err == nil || !strings.Contains(err.Error(), "http/json") {
		t.Errorf("http/json accepted: %v", err)
	}
}

// exercise sends one request through the middleware; the handler starts a
// child span the way the Temporal interceptor does for a workflow start.
func exercise(t *testing.T) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/detections", func(w http.ResponseWriter, r *http.Request) {
		_, span := otel.Tracer("test").Start(r.Context(), "StartWorkflow:riposte.playbook")
		span.End()
		w.WriteHeader(http.StatusAccepted)
	})
	m := NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	srv := httptest.NewServer(HTTPMiddleware(m, mux, nil))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/detections", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func checkTrace(t *testing.T, c *collector, service string) {
	t.Helper()
	root, ok := c.byName("POST /v1/detections")
	if !ok {
		t.Fatalf("no intake span received; got %+v", c.spans)
	}
	child, ok := c.byName("StartWorkflow:riposte.playbook")
	if !ok {
		t.Fatal("no child span received")
	}
	if child.traceID != root.traceID || child.parentID != root.spanID {
		t.Errorf("child %+v is not a child of %+v", child, root)
	}
	if root.service != service {
		t.Errorf("service.name = %q, want %q", root.service, service)
	}
	if root.attrs["http.route"] != "/v1/detections" || root.attrs["http.request.method"] != "POST" {
		t.Errorf("intake span attributes %v", root.attrs)
	}
}

func TestSetupTracingExportsOverHTTP(t *testing.T) {
	clearOTelEnv(t)
	restoreGlobals(t)
	var c collector
	recv := otlpHTTPReceiver(t, &c)
	shutdown, err := SetupTracing(context.Background(), TracingOptions{ServiceName: "riposte-serve", Endpoint: recv.URL, Protocol: "http"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); !ok {
		t.Fatalf("global provider is %T", otel.GetTracerProvider())
	}
	exercise(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	checkTrace(t, &c, "riposte-serve")
}

func TestSetupTracingFromEnv(t *testing.T) {
	clearOTelEnv(t)
	restoreGlobals(t)
	var c collector
	recv := otlpHTTPReceiver(t, &c)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	shutdown, err := SetupTracing(context.Background(), TracingOptions{ServiceName: "ignored-when-env-set"})
	if err != nil {
		t.Fatal(err)
	}
	exercise(t)
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkTrace(t, &c, "from-env")
}

func TestSetupTracingExportsOverGRPC(t *testing.T) {
	clearOTelEnv(t)
	restoreGlobals(t)
	var c collector
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(gs, &grpcTraceService{c: &c})
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)

	shutdown, err := SetupTracing(context.Background(), TracingOptions{ServiceName: "riposte-worker", Endpoint: ln.Addr().String(), Protocol: "grpc", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	exercise(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	checkTrace(t, &c, "riposte-worker")
}

func TestMiddlewareContinuesIncomingTrace(t *testing.T) {
	restoreGlobals(t)
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	h := HTTPMiddleware(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), nil)
	req := httptest.NewRequest("GET", "/whatever", nil)
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("spans: %d", len(spans))
	}
	s := spans[0]
	if s.SpanContext().TraceID().String() != "0af7651916cd43dd8448eb211c80319c" || s.Parent().SpanID().String() != "b7ad6b7169203331" {
		t.Errorf("span %s did not continue the caller's trace: trace %s parent %s", s.Name(), s.SpanContext().TraceID(), s.Parent().SpanID())
	}
	if s.Name() != "unmatched" {
		t.Errorf("name %q", s.Name())
	}
}

// The Temporal interceptor makes workflow and activity spans, linked
// through headers, on the global provider.
func TestTemporalTracingInterceptorSpans(t *testing.T) {
	restoreGlobals(t)
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	ti, err := NewTemporalTracingInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{ti}})
	env.RegisterActivityWithOptions(func(ctx context.Context) error { return nil }, activity.RegisterOptions{Name: "core.noop"})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		return workflow.ExecuteActivity(ctx, "core.noop").Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "riposte.playbook"})
	env.ExecuteWorkflow("riposte.playbook")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	names := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		names[s.Name()] = s
	}
	for _, want := range []string{"RunWorkflow:riposte.playbook", "StartActivity:core.noop", "RunActivity:core.noop"} {
		if _, ok := names[want]; !ok {
			t.Errorf("no span %s; have %v", want, keys(names))
		}
	}
	if run, start := names["RunActivity:core.noop"], names["StartActivity:core.noop"]; run != nil && start != nil {
		if run.Parent().SpanID() != start.SpanContext().SpanID() {
			t.Error("RunActivity is not a child of StartActivity")
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A span's url.path is the path as logPath gives it: the codec session
// secret in the dev UI's codec path never reaches a trace backend.
func TestMiddlewareSpanPathThroughLogPath(t *testing.T) {
	restoreGlobals(t)
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	hide := func(p string) string { return strings.Replace(p, "s3cr3t-session", "…", 1) }
	h := HTTPMiddleware(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), hide)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/codec/s3cr3t-session/decode", nil))
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("spans: %d", len(spans))
	}
	for _, kv := range spans[0].Attributes() {
		if strings.Contains(kv.Value.String(), "s3cr3t") {
			t.Errorf("span attribute %s = %q holds the secret", kv.Key, kv.Value.String())
		}
		if kv.Key == "url.path" && kv.Value.AsString() != "/codec/…/decode" {
			t.Errorf("url.path = %q", kv.Value.AsString())
		}
	}
}
