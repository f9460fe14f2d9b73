package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

const rollbackUsage = `Usage: riposte rollback RUN [--run-id R] [--as USER]

Undoes a run's containment: the undo action of every succeeded contain step,
newest first, as its own workflow (rollback:RUN) visible in the Temporal UI.
A run that continues a withdrawn one (a reopened finding) leaves the holds
it inherited to their release while it runs (printed as left in place);
once it has ended without releasing them, or a release failed, the
rollback undoes them too.

The rollback is the latest run's under RUN. --run-id names an earlier run
that a reset of another run terminated (riposte runs show RUN --run-id R
says so: the Temporal UI's Reset of the withdrawn run it continues
terminates it): nothing releases its holds, and it undoes them, less those
it inherited from the run that was reset (the reset's run holds those).`

func rollbackCommand() command {
	return command{name: "rollback", summary: "Undo every containment of a run", usage: rollbackUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			fs, f, as := asUserFlags("rollback", rollbackUsage, s, "who asks for the rollback")
			runID := fs.String("run-id", "", "the run to roll back: an earlier one a reset of another run terminated (default: the latest)")
			pos, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if len(pos) != 1 {
				fmt.Fprintln(s.Err, "riposte rollback: usage: riposte rollback RUN [--run-id R] [--as USER]")
				return 2
			}
			body, _ := json.Marshal(api.RollbackRequest{User: *as, RunID: *runID})
			var resp api.RollbackResponse
			if err := f.client().do(ctx, "POST", "/v1/runs/"+url.PathEscape(pos[0])+"/rollback", body, "application/json", &resp, nil); err != nil {
				return fail(s, err)
			}
			state := "started"
			if resp.Existing {
				state = "already started"
			}
			fmt.Fprintf(s.Out, "rollback %s: %s\n", resp.WorkflowID, state)
			for _, u := range resp.Undo {
				undoes := "undoes " + u.Action
				if strings.HasPrefix(u.Step, workflows.InheritedPrefix) {
					// Planned only when nothing else releases it: the run
					// has ended, or the release failed.
					const why = "inherited from the withdrawn run this run continues; nothing releases it any more (the run ended, or its release failed)"
					if undoes = "undoes " + u.Action + "; " + why; u.Action == "" {
						undoes = why
					}
				}
				fmt.Fprintf(s.Out, "  %s: %s (%s) %s\n", u.Step, u.Undo, undoes, summarize(u.Params, 120))
			}
			var due, stuck, carried []api.InheritedHoldLeft
			for _, h := range resp.InheritedHoldsLeft {
				if h.CarriedBy != "" {
					carried = append(carried, h)
				} else if h.NotReleased != "" {
					stuck = append(stuck, h)
				} else {
					due = append(due, h)
				}
			}
			if len(due) > 0 {
				fmt.Fprintln(s.Out, "left in place (inherited from the withdrawn run this run continues; released when due, not by this rollback):")
				for _, h := range due {
					fmt.Fprintf(s.Out, "  %s: %s, inherited from run %s, released at %s (%s)\n", h.Step, inheritedTargets(h),
						h.InheritedFrom, h.Until.Local().Format("2006-01-02 15:04:05 MST"), h.Undo)
				}
			}
			if len(stuck) > 0 {
				fmt.Fprintln(s.Out, "left in place, and nothing releases it (inherited from the withdrawn run this run continues; not undone by this rollback):")
				for _, h := range stuck {
					fmt.Fprintf(s.Out, "  %s: %s, inherited from run %s (%s): %s\n", h.Step, inheritedTargets(h), h.InheritedFrom, h.Undo, h.NotReleased)
				}
			}
			if len(carried) > 0 {
				fmt.Fprintln(s.Out, "left in place (inherited from a run that was reset since: the reset's run holds it, and its rollback undoes it):")
				for _, h := range carried {
					fmt.Fprintf(s.Out, "  %s: %s, inherited from run %s, held by run %s (%s)\n", h.Step, inheritedTargets(h), h.InheritedFrom, h.CarriedBy, h.Undo)
				}
			}
			if resp.URL != "" {
				fmt.Fprintf(s.Out, "  %s\n", resp.URL)
			}
			return 0
		}}
}

const extendUsage = `Usage: riposte extend RUN STEP DURATION [--as USER]

Extends a time-boxed containment (a step with contain_for) by DURATION
(e.g. 4h; at most 365d at a time) before its undo releases it.`

func extendCommand() command {
	return command{name: "extend", summary: "Extend a time-boxed containment", usage: extendUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			fs, f, as := asUserFlags("extend", extendUsage, s, "who extends")
			// A negative duration (-4h) is no flag: the flag parser
			// would answer "flag provided but not defined: -4h".
			for i := 0; i < len(args); i++ {
				a := args[i]
				if a == "--" {
					break
				}
				if name, _ := strings.CutPrefix(strings.TrimPrefix(a, "-"), "-"); strings.HasPrefix(a, "-") && !strings.Contains(name, "=") {
					if fl := fs.Lookup(name); fl != nil && !isBoolFlag(fl) {
						i++ // its value: --timeout -5s is the flag's to refuse
						continue
					}
				}
				if len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9' {
					_, err := playbook.ParseExtension(a)
					fmt.Fprintf(s.Err, "riposte extend: %v\n", err)
					return 2
				}
			}
			pos, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if len(pos) != 3 {
				fmt.Fprintf(s.Err, "riposte extend: got %d argument(s), want RUN STEP DURATION; usage: riposte extend RUN STEP DURATION [--as USER] (riposte holds lists what can be extended)\n", len(pos))
				return 2
			}
			// The API refuses the same (playbook.ParseExtension): said
			// here before any call.
			if _, err := playbook.ParseExtension(pos[2]); err != nil {
				fmt.Fprintf(s.Err, "riposte extend: %v\n", err)
				return 2
			}
			body, _ := json.Marshal(api.ExtendRequest{Step: pos[1], By: pos[2], User: *as})
			var hold workflows.Hold
			if err := f.client().do(ctx, "POST", "/v1/runs/"+url.PathEscape(pos[0])+"/extend", body, "application/json", &hold, nil); err != nil {
				return fail(s, err)
			}
			fmt.Fprintf(s.Out, "%s: containment now released at %s\n", hold.Step, hold.Until.Local().Format("2006-01-02 15:04:05 MST"))
			return 0
		}}
}

const policyUsage = `Usage:
  riposte policy status
  riposte policy safe-mode on|off [--as USER]

Safe mode turns every contain step into a human gate, for every run and
worker, until switched off (policy.yaml's safe_mode: true does the same).`

func policyCommand() command {
	return command{name: "policy", summary: "Show guardrail state; switch safe mode", usage: policyUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			if len(args) == 0 {
				fmt.Fprintln(s.Err, policyUsage)
				return 2
			}
			fs, f, as := asUserFlags("policy", policyUsage, s, "who switches")
			if wantsHelp(args) {
				fs.Usage()
				return 0
			}
			pos, code, ok := parseArgs(fs, args[1:])
			if !ok {
				return code
			}
			var st workflows.GuardState
			switch {
			case args[0] == "status" && len(pos) == 0:
				if err := f.client().do(ctx, "GET", "/v1/policy", nil, "", &st, nil); err != nil {
					return fail(s, err)
				}
			case args[0] == "safe-mode" && len(pos) == 1 && (pos[0] == "on" || pos[0] == "off"):
				body, _ := json.Marshal(api.SafeModeRequest{Enabled: pos[0] == "on", User: *as})
				if err := f.client().do(ctx, "POST", "/v1/policy/safe-mode", body, "application/json", &st, nil); err != nil {
					return fail(s, err)
				}
			default:
				fmt.Fprintln(s.Err, policyUsage)
				return 2
			}
			mode := "off"
			if st.SafeMode {
				mode = "on"
			}
			fmt.Fprintf(s.Out, "safe mode: %s", mode)
			if st.SafeModeBy != "" && st.SafeModeAt != nil {
				with := ""
				if st.SafeModeCredential != "" {
					with = " with " + st.SafeModeCredential
				}
				fmt.Fprintf(s.Out, " (set by %s%s at %s)", st.SafeModeBy, with, stamp(*st.SafeModeAt))
			}
			fmt.Fprintln(s.Out)
			for _, name := range slices.Sorted(maps.Keys(st.Budgets)) {
				fmt.Fprintf(s.Out, "budget %s: %d used in the current window\n", name, len(st.Budgets[name]))
			}
			return 0
		}}
}

// inheritedTargets prints the targets of an inherited hold left in place
// ("targets not recorded" when its record names none).
func inheritedTargets(h api.InheritedHoldLeft) string {
	if len(h.Targets) == 0 {
		return "targets not recorded"
	}
	return targetsText(h.Targets)
}

// isBoolFlag reports whether fl takes no value (--insecure-http).
func isBoolFlag(fl *flag.Flag) bool {
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
