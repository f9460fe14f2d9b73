package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/system"
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
				conns, ok, err := system.LoadConnections(*cfg, logger)
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

func count(rs []connector.CheckResult, status string) int {
	n := 0
	for _, r := range rs {
		if r.Status == status {
			n++
		}
	}
	return n
}
