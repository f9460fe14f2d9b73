package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/riposte-dev/riposte/internal/telemetry"
)

// observeFlags are the observability flags of worker, serve and dev.
// Tracing is configured by the standard OTEL_* env vars only.
type observeFlags struct {
	MetricsAddr string
}

func (f *observeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.MetricsAddr, "metrics-addr", envOr("RIPOSTE_METRICS_ADDR", ""),
		"serve Prometheus metrics at http://ADDR/metrics: port or host:port, e.g. :9090 (env RIPOSTE_METRICS_ADDR); empty = no metrics listener")
}

// observability is a process's metrics registry, metrics listener and
// tracer provider.
type observability struct {
	Metrics  *telemetry.Metrics
	Server   *telemetry.MetricsServer // nil without --metrics-addr
	tracing  interceptor.Interceptor
	shutdown func(context.Context) error
}

// startObservability sets up tracing (OTEL_EXPORTER_OTLP_ENDPOINT; off
// without it), the metrics registry and, with --metrics-addr, its listener.
func startObservability(ctx context.Context, service string, f observeFlags, logger *slog.Logger) (*observability, error) {
	shutdown, err := telemetry.SetupTracing(ctx, telemetry.TracingOptions{ServiceName: service})
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("tracing: %w", err)}
	}
	ti, err := telemetry.NewTemporalTracingInterceptor()
	if err != nil {
		_ = shutdown(ctx)
		return nil, err
	}
	o := &observability{Metrics: telemetry.NewMetrics(), tracing: ti, shutdown: shutdown}
	if (telemetry.TracingOptions{}).Enabled() {
		logger.Info("tracing on", "service", service)
	}
	if f.MetricsAddr != "" {
		addr, err := httpAddr(f.MetricsAddr)
		if err != nil {
			o.Close()
			return nil, &exitError{code: 2, err: fmt.Errorf("--metrics-addr: %q is not host:port or a port", f.MetricsAddr)}
		}
		if o.Server, err = telemetry.ServeMetrics(addr, o.Metrics); err != nil {
			o.Close()
			return nil, fmt.Errorf("listening for metrics on %s: %w", addr, err)
		}
		logger.Info("metrics", "url", o.Server.URL+"/metrics")
	}
	return o, nil
}

// clientOptions adds the SDK metrics handler and the tracing interceptor to
// the Temporal client (workers built from it inherit both), after extra.
func (o *observability) clientOptions(extra func(*client.Options)) func(*client.Options) {
	return func(co *client.Options) {
		if extra != nil {
			extra(co)
		}
		co.MetricsHandler = o.Metrics.TemporalHandler()
		co.Interceptors = append(co.Interceptors, o.tracing)
	}
}

// Close stops the metrics listener and flushes buffered spans.
func (o *observability) Close() {
	if o == nil {
		return
	}
	_ = o.Server.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = o.shutdown(ctx)
}
