package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/workflows"
)

const devUsage = `Usage: riposte dev [flags]

Runs the whole system in one process, with no other install: an embedded
Temporal server (SQLite under --data-dir) with its Web UI, the Riposte worker,
and the HTTP API. Playbooks are validated at start (any problem refuses to
start); SIGHUP or POST /v1/playbooks/reload reloads them. Ctrl-C stops.`

// devOptions are riposte dev's flags.
type devOptions struct {
	DataDir      string
	Playbooks    string
	TemporalPort int
	UIPort       int
	HTTP         string
	MaxBody      int64
	LogLevel     string
}

func devCommand() command {
	return command{name: "dev", summary: "Run everything locally: embedded Temporal + UI, worker, API", usage: devUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			var o devOptions
			fs := newFlagSet("dev", devUsage, s)
			fs.StringVar(&o.DataDir, "data-dir", envOr("RIPOSTE_DATA_DIR", ".riposte"), "directory for the SQLite database, API token and keys")
			fs.StringVar(&o.Playbooks, "playbooks", envOr("RIPOSTE_PLAYBOOKS", "playbooks"), "playbook directory or file (comma-separated for several)")
			fs.IntVar(&o.TemporalPort, "temporal-port", 7233, "Temporal gRPC port (0 = pick a free one)")
			fs.IntVar(&o.UIPort, "ui-port", 8233, "Temporal Web UI port (0 = pick a free one)")
			fs.StringVar(&o.HTTP, "http", envOr("RIPOSTE_HTTP", "8080"), "Riposte HTTP API address: port or host:port (0 = pick a free port)")
			fs.Int64Var(&o.MaxBody, "max-body", api.DefaultMaxBody, "largest detection request body in bytes")
			fs.StringVar(&o.LogLevel, "log-level", envOr("RIPOSTE_LOG_LEVEL", "info"), "debug, info, warn or error")
			if _, err := parseFlags(fs, args); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return 0
				}
				return 2
			}
			if err := runDev(ctx, o, s); err != nil {
				return fail(s, err)
			}
			return 0
		}}
}

func runDev(ctx context.Context, o devOptions, s Streams) error {
	logger := newLogger(s, o.LogLevel)
	addr, err := httpAddr(o.HTTP)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data dir: %w", err)
	}
	token, created, err := config.LoadOrCreateToken(o.DataDir)
	if err != nil {
		return err
	}
	paths := strings.Split(o.Playbooks, ",")
	// Validate before starting anything heavy: a bad playbook must not cost
	// a server start to find out.
	if _, err := loadPlaybooks(paths); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("playbooks are invalid; not starting:\n%w", err)}
	}

	srv, err := devserver.Start(ctx, devserver.Options{
		DataDir:          o.DataDir,
		FrontendPort:     o.TemporalPort,
		UIPort:           o.UIPort,
		SearchAttributes: workflows.SearchAttributeTypes(),
		Logger:           logger,
	})
	if err != nil {
		return err
	}
	defer srv.Stop()

	tc := config.Temporal{Address: srv.FrontendAddress(), Namespace: srv.Namespace(), TaskQueue: workflows.DefaultTaskQueue}
	c, err := tc.Dial(ctx, logger, func(opts *client.Options) {})
	if err != nil {
		return err
	}
	defer c.Close()

	w := engine.NewWorker(c, engine.WorkerOptions{TaskQueue: tc.TaskQueue, Env: activities.NewEnv(logger)})
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting worker: %w", err)
	}
	defer w.Stop()

	a, err := startAPI(ctx, apiOptions{
		Addr: addr, Token: token, MaxBody: o.MaxBody, Namespace: srv.Namespace(), TaskQueue: tc.TaskQueue,
		UIURL: srv.UIURL(), Client: c, Playbooks: paths, Logger: logger,
	})
	if err != nil {
		return err
	}
	defer a.stop()

	absData, _ := filepath.Abs(o.DataDir)
	fmt.Fprintf(s.Out, "Riposte dev is running.\n")
	fmt.Fprintf(s.Out, "  Temporal UI:   %s\n", srv.UIURL())
	fmt.Fprintf(s.Out, "  Riposte API:   %s\n", a.URL)
	fmt.Fprintf(s.Out, "  Temporal gRPC: %s (namespace %s)\n", srv.FrontendAddress(), srv.Namespace())
	if os.Getenv(config.TokenEnv) != "" {
		fmt.Fprintf(s.Out, "  API token:     from %s\n", config.TokenEnv)
	} else {
		note := ""
		if created {
			note = " (new)"
		}
		fmt.Fprintf(s.Out, "  API token:     %s%s, stored in %s\n", token, note, filepath.Join(absData, config.TokenFile))
	}
	fmt.Fprintf(s.Out, "  Data dir:      %s\n", absData)
	fmt.Fprintf(s.Out, "Send a detection: riposte submit --api %s examples/credential-dumping.json\n", a.URL)

	select {
	case <-ctx.Done():
		fmt.Fprintln(s.Out, "Shutting down…")
	case err := <-a.done:
		if err != nil {
			return fmt.Errorf("HTTP API stopped: %w", err)
		}
	}
	return nil
}

// loadPlaybooks validates the playbooks under paths.
func loadPlaybooks(paths []string) (int, error) {
	set, _, diags := loadSet(paths)
	if len(diags) > 0 {
		return 0, diags
	}
	return len(set.Playbooks), nil
}
