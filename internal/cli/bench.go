package cli

import (
	"context"

	"github.com/riposte-dev/riposte/internal/bench"
)

// benchCommand is `riposte bench` (internal/bench does the work).
func benchCommand() command {
	return command{name: "bench", summary: "Measure throughput, latency, parked approvals and micro benchmarks on this machine", usage: bench.Usage,
		run: func(ctx context.Context, args []string, s Streams) int {
			return bench.Main(ctx, "riposte bench", args, s.Out, s.Err)
		}}
}
