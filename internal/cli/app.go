package cli

import (
	"flag"
	"fmt"
	"log/slog"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

// newLogger returns the process logger: text for terminals, JSON when
// RIPOSTE_LOG_FORMAT=json (production). A level or format that is none of
// the accepted ones is refused (a usage error, exit 2) naming its
// setting: a typo in a production ConfigMap must not run at another
// level than the one asked for.
func newLogger(s Streams, level string) (*slog.Logger, error) {
	format := config.Env("RIPOSTE_LOG_FORMAT", "text")
	if _, err := telemetry.ParseLevel(level); err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("--log-level (RIPOSTE_LOG_LEVEL) %q is not a level: use debug, info, warn or error", level)}
	}
	l, err := telemetry.NewLogger(s.Err, format, level)
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("RIPOSTE_LOG_FORMAT %q is not a log format: use text or json", format)}
	}
	return l, nil
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
