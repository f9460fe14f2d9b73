package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/riposte-dev/riposte/internal/api"
)

const submitUsage = `Usage: riposte submit [--api URL] [--token T] [--dry-run] FILE...

Posts detections (a JSON object, a JSON array or NDJSON per file; - reads
stdin) to the Riposte API and prints the runs started or deduplicated, with
links to the Temporal UI.`

// submitOptions are riposte submit's flags.
type submitOptions struct {
	apiFlags
	DryRun bool
	JSON   bool
}

func submitCommand() command {
	return command{name: "submit", summary: "Send detections to the API and print the runs started", usage: submitUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			var o submitOptions
			fs := newFlagSet("submit", submitUsage, s)
			o.register(fs)
			fs.BoolVar(&o.DryRun, "dry-run", false, "simulate notify and contain actions and grant approvals")
			fs.BoolVar(&o.JSON, "json", false, "print the API response as JSON")
			files, err := parseFlags(fs, args)
			if err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return 0
				}
				return 2
			}
			if len(files) == 0 {
				fmt.Fprintln(s.Err, "riposte submit: name at least one detection file (or - for stdin)")
				return 2
			}
			if err := runSubmit(ctx, o, files, s); err != nil {
				return fail(s, err)
			}
			return 0
		}}
}

func runSubmit(ctx context.Context, o submitOptions, files []string, s Streams) error {
	c := o.client()
	path := "/v1/detections"
	if o.DryRun {
		path += "?dry_run=true"
	}
	failed := 0
	for _, f := range files {
		var body []byte
		var err error
		if f == "-" {
			body, err = io.ReadAll(s.In)
		} else {
			body, err = os.ReadFile(f)
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		var resp api.DetectionsResponse
		if err := c.do(ctx, "POST", path, body, "application/json", &resp, nil); err != nil {
			fmt.Fprintf(s.Err, "%s: %v\n", f, err)
			failed++
			continue
		}
		if o.JSON {
			writeJSONTo(s.Out, resp)
			continue
		}
		for _, d := range resp.Detections {
			fmt.Fprintf(s.Out, "%s: detection %s\n", f, d.DetectionID)
			if len(d.Matched) == 0 {
				fmt.Fprintln(s.Out, "  no playbook matched")
			}
			for _, m := range d.Matched {
				state := "started"
				if m.Deduplicated {
					state = "already running or done (deduplicated)"
				}
				mode := ""
				if m.Mode != "live" {
					mode = " [" + m.Mode + "]"
				}
				fmt.Fprintf(s.Out, "  %s v%d%s: %s\n    workflow %s\n", m.Playbook, m.Version, mode, state, m.WorkflowID)
				if m.URL != "" {
					fmt.Fprintf(s.Out, "    %s\n", m.URL)
				}
			}
			for _, e := range d.Errors {
				fmt.Fprintf(s.Out, "  warning: %s\n", e)
			}
		}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d file(s) were rejected", failed, len(files))}
	}
	return nil
}
