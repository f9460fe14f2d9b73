package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/workflows"
)

const approvalsUsage = `Usage: riposte approvals [--json]

Lists the approval gates waiting for a decision, each with what its step
would act on (TARGET: its parameters, as the Slack request lists them;
the host, user, IP or other target first, a value holding a separator
quoted).`

func approvalsCommand() command {
	return command{name: "approvals", summary: "List gates waiting for approval", usage: approvalsUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			var f apiFlags
			fs := newFlagSet("approvals", approvalsUsage, s)
			f.register(fs)
			jsonOut := fs.Bool("json", false, "print JSON")
			pos, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if code, ok := noArgs(s, "approvals", pos, "; it lists the gates of every run (riposte runs show RUN shows one run's)"); !ok {
				return code
			}
			var resp struct {
				Approvals []approvals.OpenGate `json:"approvals"`
				Truncated bool                 `json:"truncated,omitempty"`
				Detail    string               `json:"detail,omitempty"`
			}
			if err := f.client().do(ctx, "GET", "/v1/approvals", nil, "", &resp, nil); err != nil {
				return fail(s, err)
			}
			if *jsonOut {
				writeJSONTo(s.Out, resp)
				return 0
			}
			if len(resp.Approvals) == 0 {
				fmt.Fprintln(s.Out, "no gates waiting")
				return 0
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tSTEP\tACTION\tTARGET\tVOTES\tAPPROVERS\tEXPIRES\tWHY")
			for _, a := range resp.Approvals {
				g := a.Gate
				approvers := "anyone"
				switch {
				case len(g.Approvers) > 0:
					approvers = strings.Join(g.Approvers, ", ")
				case len(g.Groups) > 0:
					// Named groups resolved to no one (or are being
					// resolved): nobody may decide, not anyone.
					approvers = "nobody (groups " + strings.Join(g.Groups, ", ") + " resolved to no one)"
				}
				printLine(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", a.WorkflowID, g.StepID, g.Action, dash(paramsLine(g.Params, 80)), approvalsOf(g), g.Quorum,
					approvers, time.Until(g.ExpiresAt).Round(time.Second), g.Why)
			}
			_ = tw.Flush()
			if resp.Truncated {
				fmt.Fprintf(s.Out, "(not all: %s)\n", resp.Detail)
			}
			return 0
		}}
}

// approvalsOf counts the approvals of the gate's current round (after an
// escalation, the first round's no longer count).
func approvalsOf(g workflows.Gate) int {
	n := 0
	for _, v := range g.RoundVotes() {
		if v.Approve {
			n++
		}
	}
	return n
}

const decideUsage = `Usage:
  riposte approve RUN STEP [--as USER] [--reason R] [--no-wait] [--run-id ID]
  riposte deny RUN STEP [--as USER] [--reason R] [--no-wait] [--run-id ID]

Decides an approval gate through the API, with the same checks as a Slack
click: the token's person (riposte tokens create --user) must be an
approver, may not be the requester, votes once; --as, when given, must be
that person.
--no-wait records the decision on the run and returns without waiting for
the run to check it (Prefer: respond-async; fast for many decisions); a
vote the gate refuses is then listed under the gate's "refused" in
riposte runs show RUN.
--run-id names the run whose gate you looked at (the run_id of GET
/v1/approvals): the decision is refused (409) when that run has ended and
a reopened finding's new run waits under RUN instead. A run reset from it
(the Temporal UI's Reset) carries on the gates it opened before the reset
point: the decision goes there; one reset to before the gate asks again,
and the decision is refused (409).`

func decideCommand(name string) command {
	summary := "Approve a gated step"
	if name == "deny" {
		summary = "Deny a gated step"
	}
	return command{name: name, summary: summary, usage: decideUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			fs, f, as := asUserFlags(name, decideUsage, s, "who decides (Slack user id or name)")
			reason := fs.String("reason", "", "why")
			noWait := fs.Bool("no-wait", false, "record the decision and return; the run checks it later (refusals: riposte runs show RUN)")
			runID := fs.String("run-id", "", "the run whose gate this decision is for (refused when another run now runs under RUN)")
			pos, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if len(pos) != 2 {
				fmt.Fprintf(s.Err, "riposte %s: name the run and the step: riposte %s RUN STEP [--as USER]\n", name, name)
				return 2
			}
			// --as is optional: the API records the token's identity and
			// refuses (403) an --as that is someone else.
			decision := "approve"
			if name == "deny" {
				decision = "deny"
			}
			body, _ := json.Marshal(api.DecisionRequest{Step: pos[1], Decision: decision, User: *as, Reason: *reason, RunID: *runID})
			var res workflows.DecisionResult
			var status int
			c := f.client()
			if *noWait {
				c.prefer = "respond-async"
			}
			if err := c.do(ctx, "POST", "/v1/runs/"+url.PathEscape(pos[0])+"/approvals", body, "application/json", &res, &status); err != nil {
				return fail(s, err)
			}
			if status == 202 && *noWait {
				fmt.Fprintf(s.Out, "%s on %s: sent; the run checks it against the gate's rules (riposte runs show %s)\n", decision, pos[1], pos[0])
				return 0
			}
			if status == 202 {
				fmt.Fprintln(s.Out, "decision queued: no worker is running; it will be checked when one starts")
				return 0
			}
			fmt.Fprintf(s.Out, "%s on %s: gate %s (%d of %d approvals)\n", decision, pos[1], res.State, res.Approvals, res.Quorum)
			return 0
		}}
}
