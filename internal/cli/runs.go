package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/workflows"
)

const runsUsage = `Usage:
  riposte runs list [--playbook P] [--status S] [--outcome O] [--kind K] [--shadow] [--limit N] [--cursor C]
  riposte runs show ID [--run-id R]
  riposte runs follow ID [--interval 500ms] [--retry-for 5m]

list shows recent runs, playbook runs and rollback runs (--kind playbook or
rollback for one kind), with their outcome, the release time of a holding
run and whether it was rolled back; show prints every step (status, times,
what it acts on, output summary, error), the outcome, holds with their release times
(and the targets of one whose release failed, or that it inherited), the
rollback and a Temporal reset (the run it was reset from, the run reset
from it), of the latest run under ID or, with --run-id, of an earlier one
(a run a reset ended, a reopened finding's earlier run); follow prints step progress live until the run ends and exits 0
when it completed (whatever its outcome), 1 when it failed, 3 when it was
ended from outside (canceled, terminated, timed_out). A poll the API
cannot answer for now (429, 502, 503, 504, no connection) is retried, after
its Retry-After, for up to --retry-for; then follow exits 4 saying so: exit
4 means follow did not see the run end (it gave up, or the API refused to
show the run: not found, a token refused, a certificate not trusted), not
that the run failed.

Statuses: running, waiting_approval, holding, succeeded, failed, canceled
(cancelled from the Temporal UI or temporal workflow cancel); and for a run
Temporal ended itself (no code of the run ran at its end): terminated,
timed_out.
Outcomes: contained, partially_contained, not_contained, no_containment,
withdrawn, failed; a run records its outcome when it ends, so a run holding
its containment shows "pending (holding)" until its holds are released
(--outcome finds it only then).`

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
			jsonOut := fs.Bool("json", false, "list, show: print JSON")
			playbookName := fs.String("playbook", "", "only runs of this playbook")
			status := fs.String("status", "", "only runs with this status ("+strings.Join(api.RunStatuses, ", ")+")")
			outcome := fs.String("outcome", "", "only runs with this outcome ("+strings.Join(workflows.Outcomes(), ", ")+")")
			kind := fs.String("kind", "", "playbook, rollback or all (default: all)")
			shadow := fs.Bool("shadow", false, "only shadow-mode runs")
			limit := fs.Int("limit", 50, "most runs to list")
			cursor := fs.String("cursor", "", "list the next page: the cursor the previous list printed")
			runID := fs.String("run-id", "", "show: this run under the workflow id (default: the latest)")
			interval := fs.Duration("interval", 500*time.Millisecond, "follow: poll interval")
			retryFor := fs.Duration("retry-for", 5*time.Minute, "follow: how long to keep polling an API that does not answer (429, 502, 503, 504, no connection) before giving up")
			if wantsHelp(args) {
				fs.Usage()
				return 0
			}
			pos, code, ok := parseArgs(fs, rest)
			if !ok {
				return code
			}
			if code, ok := runsFlagsOf(s, fs, sub); !ok {
				return code
			}
			c := f.client()
			switch sub {
			case "list":
				if code, ok := noArgs(s, "runs list", pos, "; filters are flags: --playbook P, --status S, --outcome O, --kind K, --shadow"); !ok {
					return code
				}
				if *limit < 1 || *limit > 1000 {
					fmt.Fprintf(s.Err, "riposte runs list: --limit %d: want 1 to 1000 (the API's page size; --cursor lists the next page)\n", *limit)
					return 2
				}
				filter := api.RunFilter{Playbook: *playbookName, Status: *status, Outcome: *outcome, Kind: *kind}
				if err := filter.Validate(); err != nil {
					fmt.Fprintf(s.Err, "riposte runs list: %v\n", err)
					return 2
				}
				q := url.Values{}
				if *outcome != "" {
					q.Set("outcome", *outcome)
				}
				if *kind != "" {
					q.Set("kind", *kind)
				}
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
				if *cursor != "" {
					q.Set("cursor", *cursor)
				}
				var resp api.RunsResponse
				if err := c.do(ctx, "GET", "/v1/runs?"+q.Encode(), nil, "", &resp, nil); err != nil {
					return fail(s, err)
				}
				if *jsonOut {
					writeJSONTo(s.Out, resp)
					return 0
				}
				printRuns(s.Out, resp.Runs)
				if resp.NextCursor != "" {
					fmt.Fprintf(s.Out, "(more runs: the same command with --cursor %s lists the next page, up to %d)\n", resp.NextCursor, *limit)
				}
				return 0
			case "show", "follow":
				if len(pos) != 1 {
					fmt.Fprintf(s.Err, "riposte runs %s: name one run (its workflow id)\n", sub)
					return 2
				}
				if sub == "show" {
					d, err := getRunOf(ctx, c, pos[0], *runID)
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
				if *retryFor < 0 || *interval <= 0 {
					fmt.Fprintf(s.Err, "riposte runs follow: --interval %s, --retry-for %s: want a positive interval and a retry time of 0s or more\n", *interval, *retryFor)
					return 2
				}
				return followRun(ctx, c, pos[0], *interval, *retryFor, s)
			default:
				fmt.Fprintf(s.Err, "riposte runs: unknown subcommand %q (list, show, follow)\n", sub)
				return 2
			}
		}}
}

func getRun(ctx context.Context, c *apiClient, id string) (*api.RunDetail, error) {
	return getRunOf(ctx, c, id, "")
}

// getRunOf reads run runID of workflow id ("": the latest run).
func getRunOf(ctx context.Context, c *apiClient, id, runID string) (*api.RunDetail, error) {
	path := "/v1/runs/" + url.PathEscape(id)
	if runID != "" {
		path += "?" + url.Values{"run_id": {runID}}.Encode()
	}
	var d api.RunDetail
	if err := c.do(ctx, "GET", path, nil, "", &d, nil); err != nil {
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
	fmt.Fprintln(tw, "STARTED\tPLAYBOOK\tSTATUS\tOUTCOME\tAPPROVAL\tMODE\tDETECTION\tWORKFLOW ID\tNOTE")
	for _, r := range runs {
		pb := sprintLine("%s v%d", r.Playbook, r.Version)
		if r.Kind == api.KindRollback {
			pb = "(rollback)"
		}
		printLine(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", stamp(r.StartedAt), pb,
			r.Status, dash(outcomeOf(r)), dash(r.ApprovalState), dash(r.Mode), dash(r.DetectionID), r.WorkflowID, runNote(r))
	}
	_ = tw.Flush()
}

// pendingHolding is the outcome shown for a run that holds its
// containment: it records its outcome when it ends, after the release.
const pendingHolding = "pending (holding)"

// outcomeOf is the outcome runs list shows: the recorded one, or, for a
// run still holding its containment (no outcome until it ends), that it
// is pending. A run Temporal ended while it held records none: the API
// gives it Temporal's status (terminated, timed_out), and "-".
func outcomeOf(r api.RunSummary) string {
	if r.Outcome == "" && r.Status == workflows.RunHolding {
		return pendingHolding
	}
	return r.Outcome
}

// runNote is the list's last column: rollback, hold release, rollback of.
func runNote(r api.RunSummary) string {
	var notes []string
	if r.Kind == api.KindRollback {
		notes = append(notes, "rollback of "+r.RollbackOf)
		if r.RequestedBy != "" {
			notes[0] += " by " + r.RequestedBy
		}
	}
	if r.HoldUntil != nil && r.ClosedAt == nil {
		notes = append(notes, "releases at "+stamp(*r.HoldUntil))
	}
	if r.RolledBackBy != "" {
		n := "rolled back by " + r.RolledBackBy
		if rollbackUnfinished(r.RollbackStatus) {
			n = "rollback by " + r.RolledBackBy
		}
		if r.RolledBackAt != nil {
			n += " at " + stamp(*r.RolledBackAt)
		}
		switch {
		case r.RollbackStatus == workflows.RunRunning:
			n += " running"
		case rollbackUnfinished(r.RollbackStatus):
			n += " " + r.RollbackStatus + ": containment still in place"
		}
		notes = append(notes, n)
	}
	return strings.Join(notes, "; ")
}

// rollbackUnfinished reports a rollback run status that did not lift
// the containment: it is running, or ended without succeeding (an undo
// failed, it was terminated). "" is a rollback not read (kept as done).
func rollbackUnfinished(status string) bool {
	return status != "" && status != workflows.RunSucceeded
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printRun(w io.Writer, d *api.RunDetail) {
	printLine(w, "Run %s (%s)\n", d.WorkflowID, d.RunID)
	if d.Kind == api.KindRollback {
		of := d.RollbackOf
		if d.RollbackOfRun != "" {
			of += ", run " + d.RollbackOfRun
		}
		printLine(w, "  rollback of: %s (requested by %s)\n", of, dash(d.RequestedBy))
	} else {
		printLine(w, "  playbook:  %s v%d [%s]\n", d.Playbook, d.Version, d.Mode)
		printLine(w, "  detection: %s (severity %s, detector %s)\n", d.DetectionID, dash(d.Severity), dash(d.DetectorModel))
		if title, _ := d.Finding["title"].(string); strings.TrimSpace(title) != "" {
			printLine(w, "  title:     %s\n", title)
		}
	}
	printLine(w, "  status:    %s\n", d.Status)
	switch {
	case d.Outcome != "":
		printLine(w, "  outcome:   %s\n", workflows.OutcomeText(d.Outcome, d.OutcomeDetail))
	case outcomeOf(d.RunSummary) == pendingHolding:
		printLine(w, "  outcome:   %s: recorded when the run ends, after its holds are released\n", pendingHolding)
	}
	if r := d.ResetFrom; r != nil {
		switch {
		case r.RunID == "":
			printLine(w, "  Reset from run (unknown: %s)\n", r.Error)
		case r.Reason == "":
			printLine(w, "  Reset from run %s at event %d (its events before it are that run's: riposte runs show %s --run-id %s)\n", r.RunID, r.EventID, d.WorkflowID, r.RunID)
		default:
			printLine(w, "  Reset from run %s at event %d (its events before it are that run's: riposte runs show %s --run-id %s); reason: %s\n", r.RunID, r.EventID, d.WorkflowID, r.RunID, r.Reason)
		}
	}
	if d.ReopenedFrom != "" {
		printLine(w, "  Reopened: continues withdrawn run %s, whose finding its detector reopened (riposte runs show %s --run-id %s)\n", d.ReopenedFrom, d.WorkflowID, d.ReopenedFrom)
	}
	if d.ContinuedAs != "" {
		printLine(w, "  Continued as run %s: the finding was reopened, and that run took over what this one held (riposte runs show %s)\n", d.ContinuedAs, d.WorkflowID)
	}
	if d.ResetTo != "" {
		printLine(w, "  Reset into run %s (the latest run reset from this one: riposte runs show %s --run-id %s)\n", d.ResetTo, d.WorkflowID, d.ResetTo)
	}
	rollbackCmd := "riposte rollback " + d.WorkflowID
	if d.TerminatedByReset != "" {
		// The workflow's rollback is the latest run's.
		rollbackCmd += " --run-id " + d.RunID
		printLine(w, "  Terminated by a reset of another run of this workflow; the latest run (%s) carries none of this run's holds on, and %s rolls back that run, not this one (%s does)\n",
			d.TerminatedByReset, "riposte rollback "+d.WorkflowID, rollbackCmd)
	}
	if d.RolledBackBy != "" || d.RollbackRun != "" {
		at := ""
		if d.RolledBackAt != nil {
			at = " at " + stamp(*d.RolledBackAt)
		}
		switch {
		case d.RollbackStatus == workflows.RunRunning:
			printLine(w, "  rollback:  by %s%s (%s), running\n", dash(d.RolledBackBy), at, d.RollbackRun)
		case rollbackUnfinished(d.RollbackStatus):
			printLine(w, "  rollback:  by %s%s (%s) %s: the containment it did not undo is still in place (riposte runs show %s says which; %s tries again)\n",
				dash(d.RolledBackBy), at, d.RollbackRun, d.RollbackStatus, d.RollbackRun, rollbackCmd)
		default:
			printLine(w, "  rolled back: by %s%s (%s)\n", dash(d.RolledBackBy), at, d.RollbackRun)
		}
	}
	for _, h := range d.Holds {
		line := holdLine(h, time.Now())
		if d.ClosedAt != nil && h.ReleasedAt == nil {
			// No code of an ended run releases its holds: cancelled
			// (noted so by the run), terminated or timed out.
			why := "the run ended (" + d.Status + ") first"
			for _, n := range h.Extensions {
				if strings.HasPrefix(n, "not released: ") {
					why, _, _ = strings.Cut(strings.TrimPrefix(n, "not released: "), ";")
				}
			}
			line = sprintLine("%s: not released (due at %s): %s; the containment stays in place%s (%s undoes it)",
				h.Step, stamp(h.Until), why, inheritedNote(h, true), rollbackCmd)
		}
		printLine(w, "  hold:      %s\n", line)
	}
	if d.ApprovalState != "" {
		printLine(w, "  approval:  %s\n", d.ApprovalState)
	}
	if d.URL != "" {
		printLine(w, "  UI:        %s\n", d.URL)
	}
	if d.Error != "" {
		printLine(w, "  error:     %s\n", d.Error)
	}
	printFinding(w, d)
	fmt.Fprintln(w, "  steps:")
	for _, st := range d.Steps {
		printLine(w, "    %-18s %-16s %-10s %s\n", st.ID, st.Status, duration(st), st.Action)
		if p := paramsLine(st.Params, 160); p != "" {
			printLine(w, "      with: %s\n", p)
		}
		if st.Reason != "" {
			printLine(w, "      reason: %s\n", st.Reason)
		}
		if g := st.Guardrail; g != nil {
			printLine(w, "      guardrail: %s (%s): %s\n", g.Decision, g.Rule, g.Why)
		}
		if g := st.Gate; g != nil {
			printLine(w, "      gate: %s (%d/%d approvals; %s)\n", g.State, approvalsOf(*g), g.Quorum, g.Why)
			for _, v := range g.Votes {
				reason := ""
				if v.Reason != "" {
					reason = ": " + v.Reason
				}
				via := v.Via
				if v.Credential != "" {
					via += " (" + v.Credential + ")" // what authenticated them
				}
				printLine(w, "        %s by %s via %s at %s%s\n", verbOf(v.Approve), v.User, via, stamp(v.At), reason)
			}
			for _, v := range g.Refused {
				vote := "deny"
				if v.Approve {
					vote = "approve"
				}
				who, via := v.User, v.Via
				if !v.Verified {
					who += " (identity not verified)"
				}
				switch {
				case v.Credential != "" && v.Verified:
					via += " (" + v.Credential + ")"
				case v.Credential != "":
					// Its seal did not check out: the credential is only
					// what the vote said, like its user.
					via += " (" + v.Credential + ", not verified)"
				}
				printLine(w, "        refused: %s by %s via %s at %s: %s\n", vote, who, via, stamp(v.At), v.Refusal)
			}
		}
		if st.Error != "" {
			printLine(w, "      error:  %s\n", st.Error)
		}
		if st.Output != nil {
			printLine(w, "      output: %s\n", summarize(st.Output, 160))
		}
	}
	if len(d.Outputs) > 0 {
		printLine(w, "  outputs: %s\n", summarize(d.Outputs, 400))
	}
}

// holdLine describes one time-boxed containment and its release.
// A hold whose release failed names the targets still in place (its
// failed_targets: the operator lifts them by hand); an inherited hold,
// whose step is not among the run's, its targets and the run it came from.
func holdLine(h workflows.Hold, now time.Time) string {
	switch {
	case h.ReleasedAt != nil && h.Error != "":
		line := sprintLine("%s: release (%s) failed at %s: %s", h.Step, h.Undo, stamp(*h.ReleasedAt), h.Error)
		if len(h.FailedTargets) > 0 {
			line += "; still in place on " + targetsText(h.FailedTargets)
		}
		return line + inheritedNote(h, false)
	case h.ReleasedAt != nil:
		return sprintLine("%s: released (%s) at %s", h.Step, h.Undo, stamp(*h.ReleasedAt)) + inheritedNote(h, true)
	}
	return sprintLine("%s: releases (%s) at %s, in %s", h.Step, h.Undo, stamp(h.Until), timeLeft(h.Until, now)) +
		inheritedNote(h, true) + sprintLine("; extend with riposte extend RUN %s 4h", h.Step)
}

// inheritedNote is "" for a hold of the run's own step, else the run it
// was inherited from (with its targets when withTargets).
func inheritedNote(h workflows.Hold, withTargets bool) string {
	if h.InheritedFrom == "" {
		return ""
	}
	if withTargets && len(h.Targets) > 0 {
		return sprintLine(", on %s, inherited from run %s", targetsText(h.Targets), h.InheritedFrom)
	}
	return sprintLine(", inherited from run %s", h.InheritedFrom)
}

// targetsText is a hold's targets (their params), as riposte rollback
// prints an inherited hold's.
func targetsText(ts []map[string]any) string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, summarize(t, 120))
	}
	return strings.Join(out, ", ")
}

// printFinding shows the run's current finding view (as later records of
// the finding left it) and the updates and withdrawal that changed it.
func printFinding(w io.Writer, d *api.RunDetail) {
	if f := d.Finding; f != nil {
		conf := "unknown"
		if c, ok := finding.Confidence(f); ok {
			conf = strconv.Itoa(c)
		}
		line := sprintLine("severity %v, confidence %s, state %v", f["severity"], conf, f["state"])
		ips, _ := f["ips"].(map[string]any)
		for _, e := range []struct {
			label string
			list  any
		}{{"hosts", f["hosts"]}, {"users", f["users"]}, {"ips", ips["all"]}} {
			l, _ := e.list.([]any)
			var vals []string
			for _, it := range l {
				if m, ok := it.(map[string]any); ok {
					vals = append(vals, fmt.Sprint(m["value"]))
				}
			}
			if len(vals) > 0 {
				line += "; " + e.label + " " + strings.Join(vals, ", ")
			}
		}
		printLine(w, "  finding:   %s\n", line)
	}
	for _, c := range d.FindingChanges {
		conf := "unknown"
		if c.Confidence != nil {
			conf = fmt.Sprint(c.Confidence)
		}
		printLine(w, "  finding:   updated at %s: severity %s, confidence %s, %s\n", stamp(c.At), c.Severity, conf, c.State)
	}
	if wd := d.Withdrawn; wd != nil && wd.BeforeStart {
		printLine(w, "  withdrawn: %s at %s, before any record of the finding started this run: no step ran\n", wd.Reason, stamp(wd.At))
	} else if wd != nil {
		printLine(w, "  withdrawn: %s at %s; gates closed: %s; containment left in place, to review: %s\n",
			wd.Reason, stamp(wd.At), dash(strings.Join(wd.Gates, ", ")), dash(strings.Join(wd.Review, ", ")))
	}
}

func duration(st workflows.StepResult) string {
	if st.StartedAt == nil || st.EndedAt == nil {
		return ""
	}
	return st.EndedAt.Sub(*st.StartedAt).Round(time.Millisecond).String()
}

// paramsLine shows what a step acts on, its parameters as key=value (the
// target params first, then the others sorted; strings as they are, or
// quoted when they hold a separator, other values as compact JSON), cut to
// n characters: what the Slack request lists, for the CLI approver and for
// a rollback run's undo calls. A long comment sorting before the hostname
// no longer cuts the hostname off, and detection text in a value
// (", hostname=decoy") cannot read as a parameter of its own.
func paramsLine(params any, n int) string {
	m, ok := params.(map[string]any)
	if !ok {
		if params == nil {
			return ""
		}
		return summarize(params, n)
	}
	targets := workflows.TargetKeys() // what the action acts on, first
	rank := func(k string) int {
		if i := slices.Index(targets, k); i >= 0 {
			return i
		}
		return len(targets)
	}
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return rank(a) - rank(b) })
	var parts []string
	for _, k := range keys {
		v, ok := m[k].(string)
		switch {
		case !ok:
			v = summarize(m[k], n)
		case v == "" || v != strings.TrimSpace(v) || strings.ContainsAny(v, ",=\"'"):
			v = strconv.Quote(v)
		}
		parts = append(parts, k+"="+v)
	}
	s := strings.Join(parts, ", ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

// summarize prints a value as one line of JSON, cut to n characters
// (runes: a cut inside a character would print a broken byte sequence).
func summarize(v any, n int) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // <, > and & as they are, not \u003c
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimSuffix(b.String(), "\n")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

// runsFlagsApply names, for each flag of one runs subcommand, the
// subcommands it applies to; the API flags apply to all.
var runsFlagsApply = map[string][]string{
	"json": {"list", "show"}, "playbook": {"list"}, "status": {"list"}, "outcome": {"list"}, "kind": {"list"},
	"shadow": {"list"}, "limit": {"list"}, "cursor": {"list"}, "run-id": {"show"}, "interval": {"follow"}, "retry-for": {"follow"},
}

// runsFlagsOf refuses (exit 2) a flag given to a runs subcommand that
// does not use it: ignored, `runs follow RUN --json` printed text to a
// script expecting JSON and `runs show RUN --status failed` showed any run.
func runsFlagsOf(s Streams, fs *flag.FlagSet, sub string) (int, bool) {
	var wrong []string
	fs.Visit(func(f *flag.Flag) {
		if subs, ok := runsFlagsApply[f.Name]; ok && !slices.Contains(subs, sub) {
			wrong = append(wrong, fmt.Sprintf("--%s (runs %s only)", f.Name, strings.Join(subs, ", runs ")))
		}
	})
	if len(wrong) == 0 || !slices.Contains([]string{"list", "show", "follow"}, sub) {
		return 0, true
	}
	fmt.Fprintf(s.Err, "riposte runs %s: %s: not a flag of runs %s\n", sub, strings.Join(wrong, ", "), sub)
	return 2, false
}

// followRun polls the run until it ends. A poll the API cannot answer for
// now (transient) is retried, after its Retry-After or the interval, for up
// to retryFor of continuous failure: a rate limit or a restart of the API
// does not end follow with the exit code of a failed run.
//
// Exit codes: 0 the run completed, 1 it failed, exitFollowUnknown when
// follow did not see it end (gave up after retryFor, or a poll refused for
// good), 2 a setting to fix, 130 interrupted.
func followRun(ctx context.Context, c *apiClient, id string, interval, retryFor time.Duration, s Streams) int {
	seen := map[string]string{}
	held := "" // the holds follow last said the run waits for
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var failingSince time.Time
	for {
		d, err := getRun(ctx, c, id)
		if err != nil {
			if ctx.Err() != nil {
				return 130
			}
			wait, ok := transient(err)
			if !ok {
				return followUnknown(s, err)
			}
			if failingSince.IsZero() {
				failingSince = time.Now()
				printLine(s.Err, "riposte: %v\n  still following %s: retrying for up to %s (--retry-for)\n", err, id, retryFor)
			}
			if time.Since(failingSince) >= retryFor {
				return followUnknown(s, fmt.Errorf("gave up following %s: the API has not answered for %s (--retry-for): %w; how the run ends is not known (exit %d)", id, time.Since(failingSince).Round(time.Second), err, exitFollowUnknown))
			}
			wait = min(max(wait, interval), time.Until(failingSince.Add(retryFor))+interval)
			select {
			case <-ctx.Done():
				return 130
			case <-time.After(wait):
			}
			continue
		}
		if !failingSince.IsZero() {
			printLine(s.Err, "riposte: the API answers again (after %s); following %s\n", time.Since(failingSince).Round(time.Second), id)
			failingSince = time.Time{}
		}
		for _, st := range d.Steps {
			if seen[st.ID] != st.Status {
				seen[st.ID] = st.Status
				line := sprintLine("%s  %-18s %s", time.Now().Format("15:04:05"), st.ID, st.Status)
				if st.Error != "" {
					line += sprintLine("  %s", st.Error)
				} else if st.Reason != "" {
					line += sprintLine("  (%s)", st.Reason)
				}
				fmt.Fprintln(s.Out, line)
			}
		}
		// A run whose steps have ended but which holds a containment runs
		// on until the release (contain_for: hours): say so, and when,
		// rather than print nothing until then.
		if d.ClosedAt == nil && d.Status == workflows.RunHolding {
			var hs, keys []string
			for _, h := range d.Holds {
				if h.ReleasedAt == nil {
					hs = append(hs, sprintLine("%s released (%s) at %s, in %s", h.Step, h.Undo, stamp(h.Until), timeLeft(h.Until, time.Now())))
					keys = append(keys, h.Step+"@"+h.Until.String())
				}
			}
			// Said again only when a release time moves (an extension).
			if key := strings.Join(keys, ","); len(hs) > 0 && key != held {
				held = key
				printLine(s.Out, "%s  run %s: holding: %s; follow waits for the release (riposte extend RUN STEP 4h extends it, riposte rollback RUN releases it now; Ctrl-C stops following, the containment stays)\n",
					time.Now().Format("15:04:05"), strings.TrimSpace(d.WorkflowID), strings.Join(hs, "; "))
			}
		}
		if d.ClosedAt != nil {
			end := d.Status
			if d.Outcome != "" {
				end += " (" + workflows.OutcomeText(d.Outcome, d.OutcomeDetail) + ")"
			}
			switch d.Status {
			case workflows.RunSucceeded:
				printLine(s.Out, "run %s: %s\n", strings.TrimSpace(d.WorkflowID), end)
				return 0
			case workflows.RunCanceled, api.StatusTerminated, api.StatusTimedOut:
				// Not a failure of the run: an operator or Temporal ended
				// it, and what it contained may stay in place.
				printLine(s.Out, "run %s: %s: ended from outside (exit %d); riposte runs show says what it left in place\n", strings.TrimSpace(d.WorkflowID), end, exitFollowEnded)
				return exitFollowEnded
			}
			printLine(s.Out, "run %s: %s\n", strings.TrimSpace(d.WorkflowID), end)
			return 1
		}
		select {
		case <-ctx.Done():
			return 130
		case <-tick.C:
		}
	}
}

// exitFollowEnded is runs follow's exit code for a run ended from outside:
// cancelled (Temporal UI, temporal workflow cancel), terminated or timed
// out. It did not fail, and did not complete on its own either: its
// containment may still be in place (runs show says what became of it).
const exitFollowEnded = 3

// exitFollowUnknown is runs follow's exit code when it did not see the run
// end: not 1, which says the run failed.
const exitFollowUnknown = 4

// followUnknown prints why follow stops without the run's end and returns
// exitFollowUnknown; a setting to fix (2) or an interrupt (130) keeps its
// own code.
func followUnknown(s Streams, err error) int {
	if code := fail(s, err); code != 1 {
		return code
	}
	return exitFollowUnknown
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

// stamp is how runs show, runs list and the other listings print a time:
// local, with its date and zone (a gate can stay open for days; the reader
// may not be in the zone the run happened in).
func stamp(t time.Time) string {
	return t.Local().Format("2006-01-02 15:04:05 MST")
}
