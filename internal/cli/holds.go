package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/slackapp"
)

const holdsUsage = `Usage: riposte holds [--json]

Lists the active time-boxed containments (steps with contain_for) of every
holding run, soonest release first: the run, the step, the undo action that
will release it and when. Extend one with riposte extend RUN STEP 4h;
end one now with riposte rollback RUN.`

func holdsCommand() command {
	return command{name: "holds", summary: "List active time-boxed containments and their release times", usage: holdsUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			var f apiFlags
			fs := newFlagSet("holds", holdsUsage, s)
			f.register(fs)
			jsonOut := fs.Bool("json", false, "print JSON")
			pos, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if len(pos) != 0 {
				fmt.Fprintf(s.Err, "riposte holds: takes no arguments (got %q); see riposte runs show RUN for one run's holds\n", pos)
				return 2
			}
			var resp api.HoldsResponse
			if err := f.client().do(ctx, "GET", "/v1/holds", nil, "", &resp, nil); err != nil {
				return fail(s, err)
			}
			if *jsonOut {
				writeJSONTo(s.Out, resp)
				return 0
			}
			printHolds(s.Out, resp.Holds, time.Now())
			if resp.Truncated {
				fmt.Fprintf(s.Out, "(not all: %s)\n", resp.Detail)
			}
			return 0
		}}
}

func printHolds(w io.Writer, holds []api.ActiveHold, now time.Time) {
	if len(holds) == 0 {
		fmt.Fprintln(w, "no active holds")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASES AT\tIN\tRUN\tPLAYBOOK\tSTEP\tUNDO\tEXTENSIONS")
	for _, h := range holds {
		printLine(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", h.Until.Local().Format("2006-01-02 15:04:05 MST"), timeLeft(h.Until, now),
			h.WorkflowID, h.Playbook, dash(h.Step), dash(h.Undo), slackapp.ExtensionCount(h.Hold))
	}
	_ = tw.Flush()
}

const uiLinksUsage = `Usage: riposte ui-links [--ui URL] [--namespace NS] [--playbooks DIR]

Prints Temporal Web UI links to saved searches over Riposte's search
attributes: runs waiting for approval, holding runs, runs failed today,
runs not contained, rolled-back runs, rollback runs, and one per playbook.
Bookmark them, or paste the query into the UI's search box.`

// uiLink is one saved search.
type uiLink struct {
	Name, Query string
}

// uiLinks builds the saved searches; today is midnight UTC of the day.
func uiLinks(today time.Time, playbooks []string) []uiLink {
	links := []uiLink{
		{"waiting for approval", "RunStatus = 'waiting_approval' AND ExecutionStatus = 'Running'"},
		// HoldUntil is set from the moment a hold starts, also while later
		// steps still run or wait at a gate (RunStatus running or
		// waiting_approval).
		{"holding (time-boxed containment)", "(RunStatus = 'holding' OR HoldUntil IS NOT NULL) AND ExecutionStatus = 'Running'"},
		{"failed today", "RunStatus = 'failed' AND StartTime >= '" + today.UTC().Format(time.RFC3339) + "'"},
		{"not contained", "Outcome IN ('not_contained', 'partially_contained')"},
		{"rolled back", "RolledBackBy IS NOT NULL"},
		{"rollback runs", "WorkflowType = 'riposte.rollback'"},
	}
	for _, p := range playbooks {
		links = append(links, uiLink{"playbook " + p, "PlaybookName = '" + strings.ReplaceAll(p, "'", "") + "'"})
	}
	return links
}

// uiListURL is the UI's workflow list filtered by a query.
func uiListURL(ui, namespace, query string) string {
	return strings.TrimRight(ui, "/") + "/namespaces/" + url.PathEscape(namespace) + "/workflows?query=" + url.QueryEscape(query)
}

func uiLinksCommand() command {
	return command{name: "ui-links", summary: "Print Temporal UI links to saved run searches", usage: uiLinksUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			fs := newFlagSet("ui-links", uiLinksUsage, s)
			ui := fs.String("ui", config.Env("RIPOSTE_UI_URL", "http://127.0.0.1:8233"), "Temporal Web UI base URL (env RIPOSTE_UI_URL)")
			ns := fs.String("namespace", config.Env("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
			dir := fs.String("playbooks", "playbooks", "playbooks directory, for one link per playbook")
			pos, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if len(pos) != 0 {
				fmt.Fprintf(s.Err, "riposte ui-links: takes no arguments (got %q); use --ui, --namespace, --playbooks\n", pos)
				return 2
			}
			if u, err := url.Parse(*ui); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				fmt.Fprintf(s.Err, "riposte ui-links: --ui %q is not an http(s) URL; use e.g. http://127.0.0.1:8233\n", *ui)
				return 2
			}
			var names []string
			set, _, diags := playbook.Load([]string{*dir}, activities.Catalog())
			if set != nil {
				for _, c := range set.Playbooks {
					names = append(names, c.Playbook.Name)
				}
			}
			if len(diags) > 0 && len(names) == 0 {
				fmt.Fprintf(s.Err, "riposte ui-links: no per-playbook links: cannot load playbooks from %s (pass --playbooks DIR)\n", *dir)
			}
			now := time.Now().UTC()
			today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
			for _, l := range uiLinks(today, names) {
				fmt.Fprintf(s.Out, "%s\n  query: %s\n  %s\n", l.Name, l.Query, uiListURL(*ui, *ns, l.Query))
			}
			return 0
		}}
}

// timeLeft is how long until t, to the second: in days from two days on
// ("317745d2h30m5s"), where Go's duration would saturate at about 292
// years and print "2562047h47m16.85s" for a hold far away.
func timeLeft(t, now time.Time) string {
	d := t.Sub(now)
	if d > -48*time.Hour && d < 48*time.Hour {
		return d.Round(time.Second).String()
	}
	// Whole seconds from the Unix times: exact where Sub saturates.
	secs := t.Unix() - now.Unix()
	switch ns := t.Nanosecond() - now.Nanosecond(); {
	case ns >= 5e8:
		secs++
	case ns <= -5e8:
		secs--
	}
	sign := ""
	if secs < 0 {
		sign, secs = "-", -secs
	}
	out := fmt.Sprintf("%s%dd", sign, secs/86400)
	if rest := playbook.Duration(time.Duration(secs%86400) * time.Second); rest > 0 {
		out += rest.String()
	}
	return out
}
