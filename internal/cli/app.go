package cli

import (
	"flag"
	"log/slog"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

// newLogger returns the process logger: text for terminals, JSON when
// RIPOSTE_LOG_FORMAT=json (production).
func newLogger(s Streams, level string) *slog.Logger {
	format := config.Env("RIPOSTE_LOG_FORMAT", "text")
	l, err := telemetry.NewLogger(s.Err, format, level)
	if err != nil {
		// A bad level or format must not stop the process; say so once.
		if l, err = telemetry.NewLogger(s.Err, format, "info"); err != nil {
			l, _ = telemetry.NewLogger(s.Err, "text", "info")
		}
		l.Warn("ignoring log settings", "level", level, "format", format)
	}
	return l
}

// rateFlags are the API's per-token rate limit flags.
type rateFlags struct {
	PerSecond float64
	Burst     int
}

func (f *rateFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&f.PerSecond, "rate-limit", 100, "API requests per second per token (0 = no limit)")
	fs.IntVar(&f.Burst, "rate-burst", 200, "API request burst per token")
}

func (f rateFlags) limit() api.RateLimit {
	return api.RateLimit{PerSecond: f.PerSecond, Burst: f.Burst}
}
