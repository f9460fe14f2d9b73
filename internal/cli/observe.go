package cli

import (
	"flag"

	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/system"
)

// observeFlags are the observability flags of worker, serve and dev.
// Tracing is configured by the standard OTEL_* env vars only.
type observeFlags struct {
	MetricsAddr string
}

func (f *observeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.MetricsAddr, "metrics-addr", config.Env("RIPOSTE_METRICS_ADDR", ""),
		"serve Prometheus metrics at http://ADDR/metrics: port or host:port, e.g. :9090 (env RIPOSTE_METRICS_ADDR); empty = no metrics listener")
}

// options returns the telemetry of the process (telemetry.ProcessWorker,
// ProcessServe, ProcessDev): traces name it riposte-<process>, and its
// /metrics says riposte_build_info{process=<process>}.
func (f observeFlags) options(process string) *system.TelemetryOptions {
	return &system.TelemetryOptions{Service: "riposte-" + process, Process: process, Version: buildVersion(),
		MetricsAddr: f.MetricsAddr}
}
