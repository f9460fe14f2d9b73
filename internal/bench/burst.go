package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/burst"
)

// burstResult is one burst: N detections at once through the intake.
type burstResult struct {
	Name   string
	Budget int // budget of the contain action (per hour)
	Res    *burst.Result
	Err    string
	// P50 and P99 of detection → contained or gated, per run.
	P50, P99 time.Duration
}

// policyPath is the bench worker's policy.yaml: empty (no rules) for the
// other phases; the burst phase writes its budgets (the worker re-reads the
// file when it changes).
func policyPath(dir string) string { return filepath.Join(dir, "policy.yaml") }

func writePolicy(dir, src string) error {
	p := policyPath(dir)
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		return err
	}
	// Make the change visible even within the file system's mtime
	// granularity.
	later := time.Now().Add(time.Second)
	return os.Chtimes(p, later, later)
}

// runBursts posts o.Burst detections at once twice: with a budget larger
// than the burst (does automation hold?) and with a budget of a fifth of
// it (is the budget exact, does the rest go to a human with reason
// budget?). The two count against different budget rules ("*", then
// crowdstrike.contain_host), so the first does not use up the second.
func (l *loader) runBursts(ctx context.Context, o Options, logf func(string, ...any)) []burstResult {
	n := o.Burst
	limited := max(n/5, 1)
	legs := []struct {
		name, policy string
		budget       int
	}{
		{"large", "budgets:\n  - {action: \"*\", max: 1000000, per: 1h}\n", 1000000},
		{"limited", fmt.Sprintf("budgets:\n  - {action: crowdstrike.contain_host, max: %d, per: 1h}\n", limited), limited},
	}
	var out []burstResult
	for _, leg := range legs {
		if ctx.Err() != nil {
			break
		}
		if err := writePolicy(l.sys.dir, leg.policy); err != nil {
			out = append(out, burstResult{Name: leg.name, Budget: leg.budget, Err: err.Error()})
			continue
		}
		prefix := "burst-" + leg.name
		l.sys.lab.AddHosts(burst.Hosts(prefix, n)...)
		logf("burst (%s budget, %d per hour): %d detections at once, %d requests of %d in flight", leg.name, leg.budget, n, o.BurstPosters, o.BurstPerRequest)
		res, err := burst.Burst(ctx, burst.Target{API: l.sys.url, Token: l.sys.token}, burst.Options{
			N: n, Prefix: prefix, Posters: o.BurstPosters, PerRequest: o.BurstPerRequest, Logf: logf})
		r := burstResult{Name: leg.name, Budget: leg.budget, Res: res}
		if err != nil {
			r.Err = err.Error()
		}
		if res != nil && len(res.Runs) > 0 {
			ds := make([]time.Duration, 0, len(res.Runs))
			for _, run := range res.Runs {
				ds = append(ds, run.Decided)
			}
			slices.Sort(ds)
			r.P50, r.P99 = ds[len(ds)/2], ds[min(len(ds)-1, len(ds)*99/100)]
			logf("burst (%s): %s", leg.name, res.String())
		}
		waitIdle(ctx, 15*time.Second)
		out = append(out, r)
	}
	return out
}

// burstMarkdown is the report's burst section.
func burstMarkdown(b *strings.Builder, rs []burstResult, o Options) {
	if len(rs) == 0 {
		return
	}
	b.WriteString("### Burst\n\n")
	fmt.Fprintf(b, "N distinct credential-dumping detections posted at once (%d requests of %d detections in flight) to a one-step playbook that contains the host with `approval: auto`; the site guardrails decide each run: contained (a budget slot granted) or gated for a human, with the guardrail's reason. Times run from the first POST; a run counts as decided when the run listing (polled every 250 ms) shows it completed or waiting at a gate.\n\n", o.BurstPosters, o.BurstPerRequest)
	b.WriteString("| budget (per hour) | N | all taken by the API | every run contained or gated | per run p50 / p99 | contained | gated: budget | gated: guardrails_unavailable | gated: other | other outcome |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		if r.Res == nil || r.Err != "" {
			fmt.Fprintf(b, "| %d (%s) | %d | | | | | | | | error: `%s` |\n", r.Budget, r.Name, o.Burst, oneLine(r.Err))
			continue
		}
		res := r.Res
		share := func(k int) string {
			return fmt.Sprintf("%d (%.0f%%)", k, 100*float64(k)/float64(max(res.N, 1)))
		}
		otherGated, other := 0, 0
		for k, v := range res.Gated {
			if k != "budget" && k != "guardrails_unavailable" {
				otherGated += v
			}
		}
		for _, v := range res.Other {
			other += v
		}
		fmt.Fprintf(b, "| %d (%s) | %d | %s | %s | %s / %s | %s | %s | %s | %s | %s |\n",
			r.Budget, r.Name, res.N, secs(res.Posted), secs(res.AllDecided), secs(r.P50), secs(r.P99),
			share(res.Contained), share(res.Gated["budget"]), share(res.Gated["guardrails_unavailable"]), share(otherGated), share(other))
	}
	b.WriteString("\n")
}
