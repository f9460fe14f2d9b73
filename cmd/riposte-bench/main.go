// Command riposte-bench is `riposte bench` on its own: it runs the embedded
// Temporal server, the worker and the API in process and prints the
// benchmark table (see internal/bench and BENCHMARKS.md).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/riposte-dev/riposte/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := bench.Main(ctx, "riposte-bench", os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
