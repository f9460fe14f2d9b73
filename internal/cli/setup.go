package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/engine"
)

const setupUsage = `Usage: riposte setup [flags]

Prepares a Temporal namespace for Riposte, idempotently: creates it with
its retention (or lengthens the retention of an existing one; a shorter one
only with an explicit --retention, since it deletes older closed runs) and registers
Riposte's search attributes, through Temporal's API. Waits for the
frontend to answer and for the namespace to become visible, retrying with
a message. Run it once before the first worker, and again after upgrading
Riposte (new search attributes). deploy/temporal/create-namespace.sh calls it.

Temporal Cloud: namespaces and search attributes are managed with the
Cloud's tools; where the API refuses, setup prints the tcld commands to
run and exits 3, then re-run it to check.`

// setupOptions are riposte setup's flags.
type setupOptions struct {
	Temporal  config.Temporal
	Retention time.Duration
	// Shorten: --retention was given, so it may shorten an existing
	// namespace's retention (see engine.SetupOptions.Shorten).
	Shorten bool
	Wait    time.Duration
	Settle  time.Duration
}

func setupCommand() command {
	return command{name: "setup", summary: "Create the namespace and register search attributes (idempotent)", usage: setupUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			o, code, ok := parseSetup(args, s)
			if !ok {
				return code
			}
			if err := runSetup(ctx, o, s); err != nil {
				return fail(s, err)
			}
			return 0
		}}
}

// parseSetup reads setup's flags and environment; ok is false (with the
// exit code) on a usage error. Every flag is checked before connecting: a
// usage error must not wait for Temporal first.
func parseSetup(args []string, s Streams) (o setupOptions, code int, ok bool) {
	fs := newFlagSet("setup", setupUsage, s)
	o.Temporal.RegisterFlags(fs)
	retention := config.Env("NAMESPACE_RETENTION", config.Env("RIPOSTE_RETENTION", "168h"))
	fs.Func("retention", "how long Temporal keeps closed runs (Go duration, at least 24h; env NAMESPACE_RETENTION or RIPOSTE_RETENTION; default 168h); an existing namespace's longer retention is shortened only when this flag says so", func(v string) error {
		retention = v
		o.Shorten = true
		return nil
	})
	fs.DurationVar(&o.Wait, "wait", 2*time.Minute, "how long to wait for the frontend and for the namespace to become visible")
	fs.DurationVar(&o.Settle, "settle", 15*time.Second, "after adding search attributes, wait this long for every Temporal host's cache (0: no wait)")
	if pos, code, ok := parseArgs(fs, args); !ok {
		return o, code, false
	} else if len(pos) > 0 {
		return o, fail(s, &exitError{code: 2, err: fmt.Errorf("setup takes no arguments (got %q)", strings.Join(pos, " "))}), false
	}
	d, err := time.ParseDuration(retention)
	if err != nil {
		return o, fail(s, &exitError{code: 2, err: fmt.Errorf("--retention %q: not a Go duration such as 168h", retention)}), false
	}
	if err := engine.CheckRetention(d); err != nil {
		return o, fail(s, &exitError{code: 2, err: fmt.Errorf("--retention %s: %w", retention, err)}), false
	}
	o.Retention = d
	// ClientOptions validates and reads the TLS files: one that cannot be
	// used is a usage error, not a frontend to wait for.
	if _, err := o.Temporal.ClientOptions(nil); err != nil {
		return o, fail(s, &exitError{code: 2, err: err}), false
	}
	return o, 0, true
}

// dialWait dials Temporal, retrying until the frontend answers or wait
// has passed.
func dialWait(ctx context.Context, t config.Temporal, wait time.Duration, s Streams, logger *slog.Logger) (client.Client, error) {
	deadline := time.Now().Add(wait)
	for attempt := 1; ; attempt++ {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, err := t.Dial(dctx, logger, nil)
		cancel()
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("%w (gave up after %s)", err, wait)
		}
		if attempt == 1 {
			fmt.Fprintf(s.Out, "Waiting for the Temporal frontend at %s (%v)\n", t.Address, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func runSetup(ctx context.Context, o setupOptions, s Streams) error {
	if err := o.Temporal.Validate(); err != nil {
		return &exitError{code: 2, err: err}
	}
	logger := slog.New(slog.DiscardHandler)
	c, err := dialWait(ctx, o.Temporal, o.Wait, s, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	rep, err := engine.Setup(ctx, c.WorkflowService(), c.OperatorService(), engine.SetupOptions{
		Namespace: o.Temporal.Namespace, Retention: o.Retention, Shorten: o.Shorten, Wait: o.Wait, Settle: o.Settle, Out: s.Out,
	})
	if len(rep.ByHand) > 0 {
		fmt.Fprintf(s.Out, "\nThis Temporal server (Temporal Cloud?) manages this through its own tools. Run:\n")
		for _, l := range rep.ByHand {
			fmt.Fprintf(s.Out, "  %s\n", l)
		}
		fmt.Fprintf(s.Out, "then run riposte setup again to check.\n")
	}
	return setupExit(err)
}

// setupExit is setup's error as the process ends with it: exit 3 when the
// server (Temporal Cloud) refused part of the setup, which the tcld
// commands printed do by hand (README, Production; docs/operations.md).
func setupExit(err error) error {
	if errors.Is(err, engine.ErrRefused) {
		return &exitError{code: 3, err: err}
	}
	return err
}
