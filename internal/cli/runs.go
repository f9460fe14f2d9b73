package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

const runsUsage = `Usage:
  riposte runs list [--playbook P] [--status S] [--shadow] [--limit N]
  riposte runs show ID
  riposte runs follow ID

list shows recent runs; show prints every step (status, times, output
summary, error); follow prints step progress live until the run ends and
exits 0 when it succeeded, 1 otherwise.`

func runsCommand() command {
	return command{name: "runs", summary: "List, show and follow runs", usage: runsUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			if len(args) == 0 {
				fmt.Fprintln(s.Err, runsUsage)
				return 2
			}
			sub, rest := args[0], args[1:]
			var f apiFlags
			fs := newFlagSet("runs "+sub, runsUsage, s)
			f.register(fs)
			jsonOut := fs.Bool("json", false, "print JSON")
			playbookName := fs.String("playbook", "", "only runs of this playbook")
			status := fs.String("status", "", "only runs with this status (running, waiting_approval, succeeded, failed)")
			shadow := fs.Bool("shadow", false, "only shadow-mode runs")
			limit := fs.Int("limit", 50, "most runs to list")
			interval := fs.Duration("interval", 500*time.Millisecond, "follow: poll interval")
			pos, err := parseFlags(fs, rest)
			if err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return 0
				}
				return 2
			}
			c := f.client()
			switch sub {
			case "list":
				q := url.Values{}
				if *playbookName != "" {
					q.Set("playbook", *playbookName)
				}
				if *status != "" {
					q.Set("status", *status)
				}
				if *shadow {
					q.Set("shadow", "true")
				}
				q.Set("limit", fmt.Sprint(*limit))
				var resp struct {
					Runs []api.RunSummary `json:"runs"`
				}
				if err := c.do(ctx, "GET", "/v1/runs?"+q.Encode(), nil, "", &resp, nil); err != nil {
					return fail(s, err)
				}
				if *jsonOut {
					writeJSONTo(s.Out, resp)
					return 0
				}
				printRuns(s.Out, resp.Runs)
				return 0
			case "show", "follow":
				if len(pos) != 1 {
					fmt.Fprintf(s.Err, "riposte runs %s: name one run (its workflow id)\n", sub)
					return 2
				}
				if sub == "show" {
					d, err := getRun(ctx, c, pos[0])
					if err != nil {
						return fail(s, err)
					}
					if *jsonOut {
						writeJSONTo(s.Out, d)
						return 0
					}
					printRun(s.Out, d)
					return 0
				}
				return followRun(ctx, c, pos[0], *interval, s)
			default:
				fmt.Fprintf(s.Err, "riposte runs: unknown subcommand %q (list, show, follow)\n", sub)
				return 2
			}
		}}
}

func getRun(ctx context.Context, c *apiClient, id string) (*api.RunDetail, error) {
	var d api.RunDetail
	if err := c.do(ctx, "GET", "/v1/runs/"+url.PathEscape(id), nil, "", &d, nil); err != nil {
		return nil, err
	}
	return &d, nil
}

func printRuns(w io.Writer, runs []api.RunSummary) {
	if len(runs) == 0 {
		fmt.Fprintln(w, "no runs")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tPLAYBOOK\tSTATUS\tAPPROVAL\tMODE\tDETECTION\tWORKFLOW ID")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s v%d\t%s\t%s\t%s\t%s\t%s\n", r.StartedAt.Local().Format("2006-01-02 15:04:05"), r.Playbook, r.Version,
			r.Status, dash(r.ApprovalState), r.Mode, r.DetectionID, r.WorkflowID)
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printRun(w io.Writer, d *api.RunDetail) {
	fmt.Fprintf(w, "Run %s (%s)\n", d.WorkflowID, d.RunID)
	fmt.Fprintf(w, "  playbook:  %s v%d [%s]\n", d.Playbook, d.Version, d.Mode)
	fmt.Fprintf(w, "  detection: %s (severity %s, detector %s)\n", d.DetectionID, dash(d.Severity), dash(d.DetectorModel))
	fmt.Fprintf(w, "  status:    %s\n", d.Status)
	if d.ApprovalState != "" {
		fmt.Fprintf(w, "  approval:  %s\n", d.ApprovalState)
	}
	if d.URL != "" {
		fmt.Fprintf(w, "  UI:        %s\n", d.URL)
	}
	if d.Error != "" {
		fmt.Fprintf(w, "  error:     %s\n", d.Error)
	}
	fmt.Fprintln(w, "  steps:")
	for _, st := range d.Steps {
		fmt.Fprintf(w, "    %-18s %-16s %-10s %s\n", st.ID, st.Status, duration(st), st.Action)
		if st.Reason != "" {
			fmt.Fprintf(w, "      reason: %s\n", st.Reason)
		}
		if g := st.Guardrail; g != nil {
			fmt.Fprintf(w, "      guardrail: %s (%s): %s\n", g.Decision, g.Rule, g.Why)
		}
		if g := st.Gate; g != nil {
			fmt.Fprintf(w, "      gate: %s (%d/%d approvals; %s)\n", g.State, approvalsOf(*g), g.Quorum, g.Why)
			for _, v := range g.Votes {
				fmt.Fprintf(w, "        %s by %s via %s at %s %s\n", verbOf(v.Approve), v.User, v.Via, v.At.Local().Format("15:04:05"), v.Reason)
			}
		}
		if st.Error != "" {
			fmt.Fprintf(w, "      error:  %s\n", st.Error)
		}
		if st.Output != nil {
			fmt.Fprintf(w, "      output: %s\n", summarize(st.Output, 160))
		}
	}
	if len(d.Outputs) > 0 {
		fmt.Fprintf(w, "  outputs: %s\n", summarize(d.Outputs, 400))
	}
}

func duration(st workflows.StepResult) string {
	if st.StartedAt == nil || st.EndedAt == nil {
		return ""
	}
	return st.EndedAt.Sub(*st.StartedAt).Round(time.Millisecond).String()
}

// summarize prints a value as one line of JSON, cut to n characters.
func summarize(v any, n int) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func followRun(ctx context.Context, c *apiClient, id string, interval time.Duration, s Streams) int {
	seen := map[string]string{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		d, err := getRun(ctx, c, id)
		if err != nil {
			return fail(s, err)
		}
		for _, st := range d.Steps {
			if seen[st.ID] != st.Status {
				seen[st.ID] = st.Status
				line := fmt.Sprintf("%s  %-18s %s", time.Now().Format("15:04:05"), st.ID, st.Status)
				if st.Error != "" {
					line += "  " + st.Error
				} else if st.Reason != "" {
					line += "  (" + st.Reason + ")"
				}
				fmt.Fprintln(s.Out, line)
			}
		}
		if d.ClosedAt != nil {
			fmt.Fprintf(s.Out, "run %s: %s\n", strings.TrimSpace(d.WorkflowID), d.Status)
			if d.Status == workflows.RunSucceeded {
				return 0
			}
			return 1
		}
		select {
		case <-ctx.Done():
			return 130
		case <-tick.C:
		}
	}
}

func writeJSONTo(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func verbOf(approve bool) string {
	if approve {
		return "approved"
	}
	return "denied"
}
