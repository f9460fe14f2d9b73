package system

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/riposte-dev/riposte/internal/telemetry"
)

// observability is a process's metrics registry, metrics listener and
// tracer provider.
type observability struct {
	Metrics  *telemetry.Metrics
	Server   *telemetry.MetricsServer // nil without MetricsAddr
	tracing  interceptor.Interceptor
	shutdown func(context.Context) error
}

// startObservability sets up tracing (OTEL_EXPORTER_OTLP_ENDPOINT; off
// without it), the metrics registry and, with MetricsAddr, its listener.
func startObservability(ctx context.Context, o TelemetryOptions, logger *slog.Logger) (*observability, error) {
	shutdown, err := telemetry.SetupTracing(ctx, telemetry.TracingOptions{ServiceName: o.Service})
	if err != nil {
		return nil, &Error{Code: 2, Err: fmt.Errorf("tracing: %w", err)}
	}
	ti, err := telemetry.NewTemporalTracingInterceptor()
	if err != nil {
		_ = shutdown(ctx)
		return nil, err
	}
	obs := &observability{Metrics: telemetry.NewMetrics(telemetry.MetricsOptions{Process: o.Process, Version: o.Version}),
		tracing: ti, shutdown: shutdown}
	if (telemetry.TracingOptions{}).Enabled() {
		logger.Info("tracing on", "service", o.Service)
	}
	if o.MetricsAddr != "" {
		addr, err := ListenAddr("--metrics-addr", o.MetricsAddr)
		if err != nil {
			obs.Close()
			return nil, &Error{Code: 2, Err: fmt.Errorf("--metrics-addr: %q is not host:port or a port", o.MetricsAddr)}
		}
		if obs.Server, err = telemetry.ServeMetrics(addr, obs.Metrics); err != nil {
			obs.Close()
			return nil, fmt.Errorf("listening for metrics on %s: %w", addr, err)
		}
		logger.Info("metrics", "url", obs.Server.URL+"/metrics")
	}
	return obs, nil
}

// configure adds the SDK metrics handler and the tracing interceptor to
// the Temporal client (workers built from it inherit both).
func (o *observability) configure(co *client.Options) {
	co.MetricsHandler = o.Metrics.TemporalHandler()
	co.Interceptors = append(co.Interceptors, o.tracing)
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
