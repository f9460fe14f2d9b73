package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake/convert"
	"github.com/riposte-dev/riposte/internal/playbook"
)

const submitUsage = `Usage: riposte submit [--api URL] [--token T] [--dry-run] [--format F] [--explain] [--partial] FILE...

Posts detections (a JSON object, a JSON array or NDJSON per file; - reads
stdin) to the Riposte API and prints the runs started or deduplicated, with
links to the Temporal UI, and what the finding view found.

--format crowdstrike|graph|elastic|suricata|ocsf names the input format
(default: OCSF, or a vendor format the intake recognises unmistakably).
--explain starts nothing: it prints the finding view and, for each
playbook, whether trigger.when held and which part of it decided.
--partial refuses an invalid detection alone (named on stderr, exit 1)
and starts the valid ones of the file; without it one invalid detection
refuses the whole file.`

// submitOptions are riposte submit's flags.
type submitOptions struct {
	apiFlags
	DryRun  bool
	JSON    bool
	Format  string
	Explain bool
	Partial bool
}

func submitCommand() command {
	return command{name: "submit", summary: "Send detections to the API and print the runs started", usage: submitUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			var o submitOptions
			fs := newFlagSet("submit", submitUsage, s)
			o.register(fs)
			fs.BoolVar(&o.DryRun, "dry-run", false, "simulate notify and contain actions and grant approvals")
			fs.BoolVar(&o.JSON, "json", false, "print the API response as JSON")
			fs.StringVar(&o.Format, "format", "", "input format: ocsf, crowdstrike, graph, elastic, suricata (default: OCSF or detected)")
			fs.BoolVar(&o.Explain, "explain", false, "start nothing; print the finding view and why each playbook did or did not match")
			fs.BoolVar(&o.Partial, "partial", false, "refuse an invalid detection alone and start the valid ones")
			files, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if len(files) == 0 {
				fmt.Fprintln(s.Err, "riposte submit: name at least one detection file (or - for stdin)")
				return 2
			}
			if !convert.Valid(strings.ToLower(o.Format)) {
				fmt.Fprintf(s.Err, "riposte submit: --format %q: use one of ocsf, %s\n", o.Format, strings.Join(convert.Formats(), ", "))
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
	if c.baseErr != nil {
		return c.baseErr
	}
	q := url.Values{}
	if o.DryRun {
		q.Set("dry_run", "true")
	}
	if o.Format != "" {
		q.Set("format", strings.ToLower(o.Format))
	}
	if o.Explain {
		q.Set("explain", "true")
	}
	if o.Partial {
		q.Set("partial", "true")
	}
	path := "/v1/detections"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	failed, refused := 0, 0
	for i, f := range files {
		// interrupted ends the command (exit 130) naming the file at hand
		// and the files after it, never sent.
		interrupted := func(err error) error {
			msg := err.Error()
			var ee *exitError
			if errors.As(err, &ee) && ee.err != nil {
				msg = ee.err.Error()
			}
			if rest := files[i+1:]; len(rest) > 0 {
				msg += fmt.Sprintf("; not sent: %s", strings.Join(rest, ", "))
			}
			return &exitError{code: 130, err: fmt.Errorf("%s: %s", f, msg)}
		}
		var body []byte
		var err error
		if f == "-" {
			body, err = readAllContext(ctx, s.In)
		} else {
			body, err = os.ReadFile(f)
		}
		if err != nil && ctx.Err() != nil {
			return interrupted(errors.New("interrupted while reading it: not sent"))
		}
		if err != nil {
			// Reported like a file the API refused; the files after it
			// are still sent.
			fmt.Fprintf(s.Err, "%s: not sent: %v\n", f, err)
			failed++
			continue
		}
		if o.Explain {
			var ex api.ExplainResponse
			if err := c.do(ctx, "POST", path, body, "application/json", &ex, nil); err != nil {
				if ctx.Err() != nil {
					return interrupted(err) // no more files
				}
				fmt.Fprintf(s.Err, "%s: %v\n", f, err)
				failed++
				continue
			}
			if o.JSON {
				writeJSONTo(s.Out, ex)
			} else {
				printExplanations(s.Out, f, ex)
			}
			continue
		}
		var resp api.DetectionsResponse
		if err := c.do(ctx, "POST", path, body, "application/json", &resp, nil); err != nil {
			if ctx.Err() != nil {
				return interrupted(err) // no more files
			}
			fmt.Fprintf(s.Err, "%s: %v\n", f, err)
			failed++
			continue
		}
		// A detection the API refused alone (its entry's status: an
		// over-long uid, one Temporal refuses) was not taken: say so on
		// stderr and fail, as for a file refused whole.
		for _, d := range resp.Detections {
			if d.Status < 400 {
				continue
			}
			refused++
			printLine(s.Err, "%s: detection %d (%s) refused (%d)", f, d.Index, d.DetectionID, d.Status)
			for _, p := range d.Problems {
				printLine(s.Err, "\n  %s", strings.TrimPrefix(p.Path+": "+p.Message, ": "))
			}
			fmt.Fprintln(s.Err)
		}
		if o.JSON {
			writeJSONTo(s.Out, resp)
			continue
		}
		for _, d := range resp.Detections {
			printLine(s.Out, "%s: detection %s\n", f, d.DetectionID)
			printLine(s.Out, "  finding: %s\n", viewLine(d.Confidence, d.Entities))
			for _, w := range d.Warnings {
				printLine(s.Out, "  note: %s\n", strings.TrimPrefix(w.Path+": "+w.Message, ": "))
			}
			if len(d.Matched) == 0 {
				if d.Reason != "" {
					printLine(s.Out, "  no playbook started: %s\n", d.Reason)
				} else {
					fmt.Fprintln(s.Out, "  no playbook matched (riposte submit --explain says why)")
				}
			}
			for _, id := range d.Signalled {
				printLine(s.Out, "  delivered to the running run %s\n", id)
			}
			for _, m := range d.Recorded {
				if strings.HasPrefix(m.WorkflowID, dispatch.ClosedPrefix) {
					printLine(s.Out, "  %s v%d: recorded as closed after its run ended (a later record reopening it starts the response again)\n    workflow %s\n", m.Playbook, m.Version, m.WorkflowID)
					continue
				}
				printLine(s.Out, "  %s v%d: recorded as withdrawn (no step runs; its Create arriving late starts nothing)\n    workflow %s\n", m.Playbook, m.Version, m.WorkflowID)
			}
			for _, m := range d.Matched {
				state := "started"
				switch {
				case m.Deduplicated:
					state = "already running or done (deduplicated)"
				case m.Reopened:
					state = "started again: the finding was reopened after it was withdrawn (a new run of the same workflow id)"
				}
				mode := ""
				if m.Mode != playbook.ModeLive {
					mode = " [" + m.Mode + "]"
				}
				printLine(s.Out, "  %s v%d%s: %s\n    workflow %s\n", m.Playbook, m.Version, mode, state, m.WorkflowID)
				if m.URL != "" {
					printLine(s.Out, "    %s\n", m.URL)
				}
			}
			for _, e := range d.Errors {
				printLine(s.Out, "  warning: %s\n", e)
			}
		}
	}
	if failed > 0 {
		others := ""
		if failed < len(files) {
			others = "; the others were sent"
		}
		return &exitError{code: 1, err: fmt.Errorf("%d of %d file(s) were not read or were rejected (each named above%s)", failed, len(files), others)}
	}
	if refused > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d detection(s) were refused (the others were processed; fix and resend them)", refused)}
	}
	return nil
}

// readAllContext reads r to its end, or until ctx is done (Ctrl-C while
// stdin is a terminal or a producer still writing): main catches the
// signal into ctx, so a read that ignored it would hang until r closes.
func readAllContext(ctx context.Context, r io.Reader) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(r)
		ch <- result{b, err}
	}()
	select {
	case res := <-ch:
		return res.b, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// viewLine summarises what the finding view found.
func viewLine(conf any, entities map[string]int) string {
	c := "confidence unknown"
	if conf != nil {
		c = fmt.Sprintf("confidence %v", conf)
	}
	var parts []string
	for _, k := range finding.EntityKinds {
		if n := entities[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ReplaceAll(k, "_", " ")))
		}
	}
	if len(parts) == 0 {
		parts = []string{"no entities"}
	}
	return c + "; " + strings.Join(parts, ", ")
}

var singular = map[string]string{"hosts": "host", "users": "user", "ips": "ip", "hashes": "hash", "domains": "domain", "urls": "url", "cloud_resources": "cloud resource"}

// printExplanations prints riposte submit --explain.
func printExplanations(w io.Writer, file string, ex api.ExplainResponse) {
	for _, d := range ex.Detections {
		v := d.Finding
		printLine(w, "%s: detection %s\n", file, d.DetectionID)
		printLine(w, "  finding: %s\n", viewLine(v["confidence"], finding.Counts(v)))
		tm := "unknown"
		if f, ok := v["time"].(float64); ok {
			tm = time.UnixMilli(int64(f)).UTC().Format(time.RFC3339Nano)
		}
		printLine(w, "    severity %v, status %v, activity %v, state %v, time %s\n", v["severity"], v["status"], v["activity"], v["state"], tm)
		for _, k := range finding.EntityKinds {
			list, _ := v[k].([]any)
			if k == "ips" {
				ips, _ := v["ips"].(map[string]any)
				list, _ = ips["all"].([]any)
			}
			for _, e := range list {
				m, _ := e.(map[string]any)
				extra := ""
				if in, ok := m["internal"].(bool); ok {
					extra = map[bool]string{true: " (internal)", false: " (external)"}[in]
				}
				printLine(w, "    %-15s %v%s  from %v\n", singular[k], m["value"], extra, m["source"])
			}
		}
		for _, n := range d.Warnings {
			printLine(w, "  note: %s\n", strings.TrimPrefix(n.Path+": "+n.Message, ": "))
		}
		for _, p := range d.Playbooks {
			verdict := "does not match"
			if p.Held {
				verdict = "matches"
			}
			printLine(w, "  %s %s: %s\n", p.Playbook, verdict, p.Decided)
			if p.Error != "" {
				printLine(w, "    error: %s\n", p.Error)
			}
		}
	}
}
