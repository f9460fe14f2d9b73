package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// OTLP protocols accepted by TracingOptions.Protocol and
// OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf" // "http" is accepted as a synonym
)

// DefaultServiceName is the service.name of Riposte's spans when neither
// TracingOptions.ServiceName nor OTEL_SERVICE_NAME says otherwise.
const DefaultServiceName = "riposte"

// TracingOptions configures SetupTracing. Empty fields fall back to the
// standard OpenTelemetry environment variables.
type TracingOptions struct {
	// ServiceName is the resource's service.name ("" = OTEL_SERVICE_NAME,
	// else "riposte"). riposte worker and serve should pass e.g.
	// "riposte-worker" / "riposte-serve" unless the env var is set.
	ServiceName string
	// ServiceVersion is service.version (optional).
	ServiceVersion string
	// Endpoint is the OTLP collector: a URL (http://collector:4318,
	// https://collector:4317) or host:port. "" = the exporter reads
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT; when
	// neither is set, tracing is off.
	Endpoint string
	// Protocol is grpc or http/protobuf ("http"); "" =
	// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL, else
	// http/protobuf (the OpenTelemetry default).
	Protocol string
	// Insecure sends plaintext to a host:port endpoint (an http:// URL is
	// plaintext anyway; OTEL_EXPORTER_OTLP_INSECURE=true works too).
	Insecure bool
}

// Enabled reports whether SetupTracing would export anything: an endpoint
// is configured and the SDK is not disabled (OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none).
func (o TracingOptions) Enabled() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(os.Getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return o.endpoint() != ""
}

func (o TracingOptions) endpoint() string {
	for _, v := range []string{o.Endpoint, os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")} {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func (o TracingOptions) protocol() (string, error) {
	p := o.Protocol
	for _, env := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p == "" {
			p = os.Getenv(env)
		}
	}
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "", "http", ProtocolHTTP:
		return ProtocolHTTP, nil
	case ProtocolGRPC:
		return ProtocolGRPC, nil
	default:
		return "", fmt.Errorf("OTLP protocol %q is not supported: use grpc or http/protobuf", p)
	}
}

// SetupTracing installs an OTLP trace exporter as the global OpenTelemetry
// tracer provider, and the W3C trace-context and baggage propagators. It
// does nothing (and returns a no-op shutdown) when no endpoint is
// configured. Call shutdown before the process exits: it flushes the spans
// still buffered. Sampling follows OTEL_TRACES_SAMPLER (default: parent
// based, always on); batching follows OTEL_BSP_*; extra resource attributes
// come from OTEL_RESOURCE_ATTRIBUTES.
func SetupTracing(ctx context.Context, opts TracingOptions) (shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if !opts.Enabled() {
		return noop, nil
	}
	proto, err := opts.protocol()
	if err != nil {
		return noop, err
	}
	if exp := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); exp != "" && !strings.EqualFold(exp, "otlp") {
		return noop, fmt.Errorf("OTEL_TRACES_EXPORTER=%s is not supported: use otlp or none", exp)
	}
	exporter, err := newExporter(ctx, opts, proto)
	if err != nil {
		return noop, fmt.Errorf("creating the OTLP trace exporter: %w", err)
	}
	res, err := newResource(ctx, opts)
	if err != nil {
		_ = exporter.Shutdown(ctx)
		return noop, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return func(ctx context.Context) error {
		return errors.Join(tp.ForceFlush(ctx), tp.Shutdown(ctx))
	}, nil
}

func newExporter(ctx context.Context, opts TracingOptions, proto string) (*otlptrace.Exporter, error) {
	ep := strings.TrimSpace(opts.Endpoint)
	u, urlErr := url.Parse(ep)
	isURL := ep != "" && urlErr == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
	if proto == ProtocolGRPC {
		var o []otlptracegrpc.Option
		switch {
		case isURL:
			o = append(o, otlptracegrpc.WithEndpointURL(ep))
		case ep != "":
			o = append(o, otlptracegrpc.WithEndpoint(ep))
		}
		if opts.Insecure {
			o = append(o, otlptracegrpc.WithInsecure())
		}
		return otlptracegrpc.New(ctx, o...)
	}
	var o []otlptracehttp.Option
	switch {
	case isURL:
		// Like OTEL_EXPORTER_OTLP_ENDPOINT: a base URL gets /v1/traces.
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces"
		}
		o = append(o, otlptracehttp.WithEndpointURL(u.String()))
	case ep != "":
		o = append(o, otlptracehttp.WithEndpoint(ep))
	}
	if opts.Insecure {
		o = append(o, otlptracehttp.WithInsecure())
	}
	return otlptracehttp.New(ctx, o...)
}

func newResource(ctx context.Context, opts TracingOptions) (*resource.Resource, error) {
	ro := []resource.Option{
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
	}
	var explicit []attribute.KeyValue
	if opts.ServiceName != "" && os.Getenv("OTEL_SERVICE_NAME") == "" {
		explicit = append(explicit, attribute.String("service.name", opts.ServiceName))
	}
	if opts.ServiceVersion != "" {
		explicit = append(explicit, attribute.String("service.version", opts.ServiceVersion))
	}
	if len(explicit) > 0 {
		ro = append(ro, resource.WithAttributes(explicit...))
	}
	res, err := resource.New(ctx, ro...)
	if err != nil && res == nil {
		return nil, fmt.Errorf("building the trace resource: %w", err)
	}
	return res, nil
}

// NewTemporalTracingInterceptor returns the Temporal SDK's OpenTelemetry
// interceptor (go.temporal.io/sdk/contrib/opentelemetry) on the global tracer
// provider: spans for workflow start (client), workflow execution, activity
// start and execution, signals and updates, linked through Temporal headers,
// so a trace runs from the API request that started a run to its last
// action. Queries are not traced (runs follow polls them). Add it to
// client.Options.Interceptors of both serve and worker: workers built from
// the client use it too. With tracing off it creates no spans and writes no
// headers.
func NewTemporalTracingInterceptor() (interceptor.Interceptor, error) {
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer:              otel.GetTracerProvider().Tracer("go.temporal.io/sdk"),
		DisableQueryTracing: true,
	})
}
