package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/lab"
)

const connectionsUsage = `Usage: riposte connections check [--config riposte.yaml] [--lab] [--format text|json] [--timeout 30s]

Checks every connection of riposte.yaml against the real vendor with a
harmless read (a token fetch and one lookup): prints what works and, when a
vendor refuses, the permissions or scopes the actions need. Nothing is
changed anywhere. Exit code 1 when a check fails.

--lab checks the connections of the vendor lab instead (what riposte dev
uses without a riposte.yaml).`

func connectionsCommand() command {
	return command{name: "connections", summary: "Check vendor connections with a harmless read", usage: connectionsUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			fs := newFlagSet("connections", connectionsUsage, s)
			cfg := fs.String("config", config.Env("RIPOSTE_CONFIG", "riposte.yaml"), "vendor connections file (env RIPOSTE_CONFIG)")
			useLab := fs.Bool("lab", false, "check the vendor lab's connections")
			format := fs.String("format", "text", "output format: text or json")
			timeout := fs.Duration("timeout", 30*time.Second, "time limit of each check")
			rest, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if len(rest) != 1 || rest[0] != "check" {
				fmt.Fprintf(s.Err, "riposte connections: the only subcommand is check (riposte connections check)\n%s\n", connectionsUsage)
				return 2
			}
			if *format != "text" && *format != "json" {
				fmt.Fprintf(s.Err, "riposte connections: --format must be text or json, got %q\n", *format)
				return 2
			}
			logger := slog.New(slog.DiscardHandler)
			env := activities.NewEnv(logger)
			env.CallTimeout = *timeout
			if *useLab {
				l, err := lab.Start(lab.Options{Logger: logger})
				if err != nil {
					fmt.Fprintf(s.Err, "riposte connections: %v\n", err)
					return 1
				}
				defer l.Close()
				env.Connections = l.Connections()
			} else {
				conns, ok, err := loadConfig(*cfg, true, s.Err)
				if err != nil {
					fmt.Fprintf(s.Err, "riposte connections: %v\n", err)
					return 1
				}
				if !ok {
					fmt.Fprintf(s.Err, "riposte connections: %s not found: no connections to check (give --config, or --lab for the vendor lab)\n", *cfg)
					return 1
				}
				env.Connections = conns
			}
			cctx, cancel := context.WithTimeout(ctx, *timeout*time.Duration(len(env.Connections)+1))
			defer cancel()
			results := activities.CheckConnections(cctx, env)
			failed := 0
			for _, r := range results {
				if r.Status == "failed" {
					failed++
				}
			}
			if *format == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				_ = enc.Encode(results)
			} else {
				tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
				for _, r := range results {
					fmt.Fprintf(tw, "%s\t%s (%s)\t%s\n", r.Status, r.Name, r.Type, r.Detail)
					if r.Needs != "" {
						fmt.Fprintf(tw, "\t\tneeds: %s\n", r.Needs)
					}
				}
				_ = tw.Flush()
				fmt.Fprintf(s.Out, "%d connections: %d ok, %d failed, %d skipped\n", len(results), count(results, "ok"), failed, count(results, "skipped"))
			}
			if failed > 0 {
				return 1
			}
			return 0
		}}
}

// loadConfig reads riposte.yaml for connections check and doctor, as the
// worker does (config.LoadConnections), and prints every diagnostic to w
// with its position and snippet: the warnings (plain-http URLs, secret
// files readable by others, unknown keys) that the worker only logs, and
// the errors. require makes a file without a connections: key an error.
// found is false when there is no file.
func loadConfig(path string, require bool, w io.Writer) (conns map[string]activities.Connection, found bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	conns, diags, err := config.LoadConnectionsWith(path, config.ConnectionsOptions{RequireConnections: require})
	for _, d := range diags {
		fmt.Fprintln(w, d.Pretty())
	}
	if err != nil {
		if n := len(diags.Errors()); n > 0 {
			return nil, true, fmt.Errorf("%s is invalid (%d error(s), above)", path, n)
		}
		return nil, true, err
	}
	return conns, true, nil
}

func count(rs []connector.CheckResult, status string) int {
	n := 0
	for _, r := range rs {
		if r.Status == status {
			n++
		}
	}
	return n
}
