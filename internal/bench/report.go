package bench

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Targets (issue #18, on a 2-core machine).
const (
	targetThroughputRatio = 2.0  // Riposte/baseline throughput ≥
	targetP99Ratio        = 1.2  // Riposte/baseline p99 latency ≤
	targetThroughput      = 40.0 // runs/s ≥
	targetHistoryRatio    = 0.5  // Riposte/baseline history events and bytes per run ≤
	targetContainP99      = 150 * time.Millisecond
	targetParkedRSS       = 512 << 20
	targetApproveAll      = 60 * time.Second
	targetCondition       = time.Microsecond
	targetPlaybooks1000   = time.Second
)

// Markdown renders the report: the machine, the summary against the
// targets, then every phase in detail.
func (r *Report) Markdown() string {
	var b strings.Builder
	o := r.Options
	mode := ""
	if o.Smoke {
		mode = " (smoke mode: tiny durations, figures are not meaningful)"
	}
	fmt.Fprintf(&b, "## riposte bench — %s%s\n\n", r.Started.UTC().Format("2006-01-02 15:04 UTC"), mode)
	cmd := o.Command
	if cmd == "" {
		cmd = "riposte bench"
	}
	fmt.Fprintf(&b, "`%s` — %s in all\n\n", strings.TrimSpace(cmd), r.Elapsed.Round(time.Second))

	m := r.Machine
	b.WriteString("| machine | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPU | %s |\n", m.CPUModel)
	fmt.Fprintf(&b, "| cores | %d logical (GOMAXPROCS %d) |\n", m.Cores, m.GOMAXPROCS)
	fmt.Fprintf(&b, "| memory | %.1f GiB |\n", float64(m.MemTotal)/(1<<30))
	fmt.Fprintf(&b, "| Go | %s %s/%s, kernel %s |\n", m.GoVersion, m.OS, m.Arch, m.Kernel)
	fmt.Fprintf(&b, "| load average (1 5 15 min) | start %s, end %s |\n", r.LoadStart, r.LoadEnd)
	if r.Options.Temporal != "" {
		fmt.Fprintf(&b, "| storage | external Temporal cluster at %s, namespace %s (its own persistence, e.g. PostgreSQL); worker, lab and API in this process; payloads %s |\n", r.Options.Temporal, r.Options.Namespace, payloadsLine(o))
		fmt.Fprintf(&b, "| start-up | worker + lab + API ready in %s |\n", r.StartupTime.Round(time.Millisecond))
	} else if r.DataDir != "" {
		fmt.Fprintf(&b, "| storage | durable SQLite file (WAL, synchronous=NORMAL, one connection; unused visibility indexes dropped) in a temp data dir; payloads %s, as `riposte dev` |\n", payloadsLine(o))
		fmt.Fprintf(&b, "| start-up | embedded Temporal + worker + lab + API ready in %s |\n", r.StartupTime.Round(time.Millisecond))
		if r.SettleWait > 0 {
			fmt.Fprintf(&b, "| settle | then %s waiting for the search attribute caches (a fresh data dir's first minute: the server reads search attributes from SQLite on every use until every cache has loaded the registered ones) |\n", r.SettleWait.Round(time.Second))
		}
		rl := "none (riposte dev's default is 100 requests/s per token, burst 200: see BENCHMARKS.md)"
		if o.RateLimit.PerSecond > 0 {
			rl = fmt.Sprintf("%.0f requests/s per token, burst %d; %d answers were 429 and retried", o.RateLimit.PerSecond, o.RateLimit.Burst, r.Throttled)
		}
		fmt.Fprintf(&b, "| API rate limit | %s |\n", rl)
		var tuning []string
		if o.GRPCCompression {
			tuning = append(tuning, "gzip on the loopback gRPC connection")
		}
		if w := o.Worker; w.MaxConcurrentWorkflowTaskPollers+w.MaxConcurrentActivityTaskPollers+w.MaxConcurrentWorkflowTaskExecutionSize+w.MaxConcurrentActivityExecutionSize > 0 {
			tuning = append(tuning, fmt.Sprintf("worker pollers wft %d / activity %d, max wft %d / activities %d (0 = SDK default)",
				w.MaxConcurrentWorkflowTaskPollers, w.MaxConcurrentActivityTaskPollers, w.MaxConcurrentWorkflowTaskExecutionSize, w.MaxConcurrentActivityExecutionSize))
		}
		if o.NoPayloadCompression {
			tuning = append(tuning, "payloads encrypted without compression (--no-payload-compression)")
		}
		if o.InlinePlaybooks {
			tuning = append(tuning, "playbooks inline in the run input (--inline-playbooks)")
		}
		if o.StickyCache > 0 {
			tuning = append(tuning, fmt.Sprintf("sticky cache %d", o.StickyCache))
		}
		for _, k := range slices.Sorted(maps.Keys(o.DynamicConfig)) {
			tuning = append(tuning, fmt.Sprintf("%s=%v", k, o.DynamicConfig[k]))
		}
		if len(tuning) == 0 {
			tuning = append(tuning, "none: riposte dev's worker and server settings")
		}
		fmt.Fprintf(&b, "| tuning | %s |\n", strings.Join(tuning, "; "))
	}
	b.WriteString("\n")

	// Summary against the targets.
	b.WriteString("| measure | value | target | value/target | met |\n|---|---|---|---|---|\n")
	row := func(name, value, target string, ratio float64, met bool) {
		rs := "—"
		if ratio > 0 {
			rs = fmt.Sprintf("%.2f", ratio)
		}
		mark := "no"
		if met {
			mark = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, value, target, rs, mark)
	}
	info := func(name, value string) { fmt.Fprintf(&b, "| %s | %s | | | |\n", name, value) }
	cores := float64(r.Machine.Cores)
	if p := r.Riposte; p != nil {
		row(fmt.Sprintf("Riposte throughput, measured (%d in flight)", p.Concurrency), fmt.Sprintf("%.1f runs/s", p.Throughput),
			fmt.Sprintf("≥ %.0f runs/s", targetThroughput), p.Throughput/targetThroughput, p.Throughput >= targetThroughput)
		if c := r.cpuPerRun("riposte", p); c > 0 {
			x := cores * 1000 / c
			row(fmt.Sprintf("Riposte throughput the CPU cost allows: %d cores ÷ %.1f CPU-ms per run (all of the machine, no other load)", r.Machine.Cores, c),
				fmt.Sprintf("%.1f runs/s", x), fmt.Sprintf("≥ %.0f runs/s", targetThroughput), x/targetThroughput, x >= targetThroughput)
		}
	}
	if p := r.Baseline; p != nil {
		v := fmt.Sprintf("%.1f runs/s", p.Throughput)
		if c := r.cpuPerRun("baseline", p); c > 0 {
			v += fmt.Sprintf("; %.1f CPU-ms per run, %.1f runs/s on %d idle cores", c, cores*1000/c, r.Machine.Cores)
		}
		info(fmt.Sprintf("baseline throughput, measured (%d in flight)", p.Concurrency), v)
	}
	if r.Riposte != nil && r.Baseline != nil && r.Baseline.Throughput > 0 {
		x := r.Riposte.Throughput / r.Baseline.Throughput
		row("throughput Riposte/baseline, measured", fmt.Sprintf("%.2f", x), fmt.Sprintf("≥ %.2f", targetThroughputRatio), x/targetThroughputRatio, x >= targetThroughputRatio)
		if rc, bc := r.cpuPerRun("riposte", r.Riposte), r.cpuPerRun("baseline", r.Baseline); rc > 0 && bc > 0 {
			x := bc / rc
			row("throughput Riposte/baseline from CPU cost per run (baseline CPU-ms ÷ Riposte CPU-ms)", fmt.Sprintf("%.2f (%.1f / %.1f)", x, bc, rc),
				fmt.Sprintf("≥ %.2f", targetThroughputRatio), x/targetThroughputRatio, x >= targetThroughputRatio)
		}
	}
	if r.Riposte != nil && r.Baseline != nil && r.Baseline.Done.P99 > 0 {
		x := float64(r.Riposte.Done.P99) / float64(r.Baseline.Done.P99)
		row("p99 detection → run completed, Riposte/baseline (same concurrency)",
			fmt.Sprintf("%.2f (%s / %s)", x, ms(r.Riposte.Done.P99), ms(r.Baseline.Done.P99)),
			fmt.Sprintf("≤ %.2f", targetP99Ratio), x/targetP99Ratio, x <= targetP99Ratio)
	}
	if rh, bh, ok := r.historyPair(); ok {
		x := rh.Events / bh.Events
		row("history events per run, Riposte/baseline", fmt.Sprintf("%.2f (%.1f / %.1f)", x, rh.Events, bh.Events),
			fmt.Sprintf("≤ %.2f", targetHistoryRatio), x/targetHistoryRatio, x <= targetHistoryRatio)
		x = rh.Bytes / bh.Bytes
		row("history bytes per run, Riposte/baseline", fmt.Sprintf("%.2f (%.0f / %.0f B)", x, rh.Bytes, bh.Bytes),
			fmt.Sprintf("≤ %.2f", targetHistoryRatio), x/targetHistoryRatio, x <= targetHistoryRatio)
		if bh.BytesDefaultIdentity > 0 {
			// The baseline runs on Riposte's worker here, so its task
			// events carry Riposte's identity with its capability
			// markers; a hand-written deployment's worker sends the SDK's
			// default. Riposte's own markers are its cost and stay.
			x = rh.Bytes / bh.BytesDefaultIdentity
			row("history bytes per run, Riposte/baseline with the baseline's worker identity at the SDK default (pid@host@, as a hand-written deployment stores)",
				fmt.Sprintf("%.2f (%.0f / %.0f B)", x, rh.Bytes, bh.BytesDefaultIdentity),
				fmt.Sprintf("≤ %.2f", targetHistoryRatio), x/targetHistoryRatio, x <= targetHistoryRatio)
			info("history bytes per run, Riposte/baseline, both identities at the SDK default (what Riposte's identity after pid@host@ costs: its task queue and capability markers)",
				fmt.Sprintf("%.2f (%.0f / %.0f B)", rh.BytesDefaultIdentity/bh.BytesDefaultIdentity, rh.BytesDefaultIdentity, bh.BytesDefaultIdentity))
		}
	}
	if r.Half != nil && r.BaselineHalf != nil && r.BaselineHalf.Done.P99 > 0 {
		x := float64(r.Half.Done.P99) / float64(r.BaselineHalf.Done.P99)
		info(fmt.Sprintf("p99 detection → run completed, Riposte/baseline (same rate, %.1f/s)", r.Half.Rate),
			fmt.Sprintf("%.2f (%s / %s)", x, ms(r.Half.Done.P99), ms(r.BaselineHalf.Done.P99)))
	}
	if p := r.Half; p != nil {
		met := p.Contain.N > 0 && p.Contain.P99 <= targetContainP99
		row(fmt.Sprintf("p99 detection → first containment started, at half max (%.1f/s)", p.Rate), ms(p.Contain.P99),
			"≤ "+ms(targetContainP99), float64(p.Contain.P99)/float64(targetContainP99), met)
	}
	if p := r.Parked; p != nil {
		name, rss := fmt.Sprintf("RSS with %d runs parked at a gate (after GC)", p.K), p.Mem.RSS
		if p.Parked < p.K {
			rss = p.rssAtK()
			name = fmt.Sprintf("RSS with %d runs parked at a gate (after GC; extrapolated from %d parked in the budget)", p.K, p.Parked)
		}
		row(name, mib(rss), "≤ "+mib(targetParkedRSS), float64(rss)/targetParkedRSS, p.Parked > 0 && rss <= targetParkedRSS)
		if !o.NoApprove {
			all := p.approveAllTime()
			name := fmt.Sprintf("approving all %d through the API (%s; %d in flight)", p.K, p.how(), p.Concurrency)
			if p.decided() < p.K {
				name = fmt.Sprintf("approving all %d through the API (%s; %d in flight; extrapolated from %d decisions at %.1f/s)", p.K, p.how(), p.Concurrency, p.decided(), p.approveRate())
			}
			row(name, secs(all), "≤ 60 s", all.Seconds()/targetApproveAll.Seconds(), all > 0 && all <= targetApproveAll)
		}
	}
	if bp := r.BaselineParked; bp != nil && bp.Approved > 0 {
		per := bp.cpuPerDecision()
		info(fmt.Sprintf("hand-written floor: %d parked baseline runs approved with client Updates (%d in flight)", bp.K, o.ParkedConcurrency),
			fmt.Sprintf("%.1f/s, %.1f CPU-ms per decision: all %d would take %s (at least %s on %d cores)", bp.rate(), per, o.Parked,
				secs(time.Duration(float64(o.Parked)/bp.rate()*float64(time.Second))),
				secs(time.Duration(per*float64(o.Parked)/float64(max(r.Machine.Cores, 1))*float64(time.Millisecond))), r.Machine.Cores))
	}
	for _, br := range r.Bursts {
		if br.Res == nil || br.Err != "" {
			continue
		}
		res := br.Res
		info(fmt.Sprintf("burst of %d detections at once, budget %d/h (%s): every run contained or gated", res.N, br.Budget, br.Name),
			fmt.Sprintf("%s; %d contained, %d gated for budget, %d for guardrails_unavailable", secs(res.AllDecided), res.Contained, res.Gated["budget"], res.Gated["guardrails_unavailable"]))
	}
	for _, mr := range r.Micro {
		switch {
		case mr.Name == "condition_eval":
			v := mr.cpu()
			row("condition evaluation (CPU time per evaluation)", fmt.Sprintf("%.0f ns (wall %.0f ns)", v, mr.NsPerOp), "≤ 1 µs",
				v/float64(targetCondition), time.Duration(v) <= targetCondition)
		case strings.HasPrefix(mr.Name, "playbooks_validate_"):
			per1000, wall := time.Duration(mr.cpu()*mr.Scale), time.Duration(mr.NsPerOp*mr.Scale)
			name := "validating 1,000 playbooks (CPU time)"
			if mr.Scale != 1 {
				name = fmt.Sprintf("validating 1,000 playbooks (CPU time; extrapolated from %.0f)", 1000/mr.Scale)
			}
			row(name, fmt.Sprintf("%s (wall %s)", secs(per1000), secs(wall)), "≤ 1 s", per1000.Seconds()/targetPlaybooks1000.Seconds(), per1000 <= targetPlaybooks1000)
		}
	}
	b.WriteString("\n")

	// Load phases in detail.
	phases := []*phaseResult{r.Baseline, r.Riposte, r.Half, r.BaselineHalf}
	keys := []string{"baseline", "riposte", "half", "baseline-half"}
	any := false
	for _, p := range phases {
		any = any || p != nil
	}
	if any {
		b.WriteString("### Load phases\n\n")
		fmt.Fprintf(&b, "Reference playbook: `enrich` (virustotal.ip_report) → condition (`if: steps.enrich.output.malicious > 0`) → `contain` (crowdstrike.contain_host, `approval: auto`) → `ticket` (jira.create_issue) → `notify` (pagerduty.trigger), against the lab's fake vendors; one new finding uid per detection. Latencies start when the client sends the detection. Warm-up %s before each window; after each phase (and round) the bench waits until the server is idle, and that catch-up (deferred visibility writes) counts in the phase's CPU. %s\n\n", o.Warmup, roundsNote(o))
		b.WriteString("| phase | load | window | runs started | runs/s completed | failed | errors | intake p50 / p99 | → containment p50 / p95 / p99 | → completed p50 / p95 / p99 | process CPU | machine busy |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for i, p := range phases {
			if p == nil {
				continue
			}
			load := fmt.Sprintf("%d in flight", p.Concurrency)
			if p.Concurrency == 0 {
				load = fmt.Sprintf("%.1f/s offered", p.Rate)
			}
			cpu := r.CPU[keys[i]]
			cpuPer := ""
			if p.Total > 0 {
				cpuPer = fmt.Sprintf(", %.1f CPU-ms/run", cpu.Proc.Seconds()*1000/float64(p.Total))
			}
			fmt.Fprintf(&b, "| %s (%s) | %s | %s | %d | %.1f | %d | %d | %s / %s | %s / %s / %s | %s / %s / %s | %.2f cores%s | %.0f%% |\n",
				p.Target, p.Name, load, p.Window.Round(time.Second), p.Started, p.Throughput, p.Failed, p.Errors,
				ms(p.Intake.P50), ms(p.Intake.P99), ms(p.Contain.P50), ms(p.Contain.P95), ms(p.Contain.P99),
				ms(p.Done.P50), ms(p.Done.P95), ms(p.Done.P99), cpu.Cores, cpuPer, cpu.MachineBusy*100)
		}
		for _, p := range phases {
			if p != nil && p.FirstError != "" {
				fmt.Fprintf(&b, "\nFirst error in %s (%s): `%s`\n", p.Target, p.Name, oneLine(p.FirstError))
			}
		}
		b.WriteString("\n")
	}

	if len(r.History) > 0 {
		b.WriteString("### Server work per run\n\n")
		b.WriteString("Histories of completed runs of the maximum-throughput phases, read back through the client: events and bytes (protobuf, payloads encrypted) per run. They do not depend on the machine's load.\n\n")
		b.WriteString("| side | runs read | events per run | bytes per run | bytes per run, identities at the SDK default | of which start input | of which payloads (count) | of which search attributes | events by type (per run) |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, h := range r.History {
			if h.Err != "" {
				fmt.Fprintf(&b, "| %s | %d | | | | | | | error: `%s` |\n", h.Target, h.Runs, oneLine(h.Err))
				continue
			}
			fmt.Fprintf(&b, "| %s | %d | %.1f | %.0f | %.0f | %.0f | %.0f (%.1f) | %.0f | %s |\n", h.Target, h.Runs, h.Events, h.Bytes, h.BytesDefaultIdentity, h.InputBytes, h.PayloadBytes, h.Payloads, h.SearchAttrBytes, h.typesLine())
		}
		b.WriteString("\n")
	}

	burstMarkdown(&b, r.Bursts, o)

	if p := r.Parked; p != nil {
		b.WriteString("### Parked approvals\n\n")
		b.WriteString("| | |\n|---|---|\n")
		fmt.Fprintf(&b, "| runs parked at a gate | %d of %d in %s, %.1f/s (%d requests in flight, at most %d runs not yet parked)%s; then %s until the server had caught up (deferred visibility writes) |\n",
			p.Parked, p.K, secs(p.ParkTime), p.parkRate(), p.Concurrency, parkBacklog, budgetNote(p.Parked < p.K, p.ParkBudget), secs(p.DrainTime))
		if p.Parked > 0 {
			perPark := p.ParkCPU.Proc.Seconds() * 1000 / float64(p.Parked)
			fmt.Fprintf(&b, "| CPU while parking and catching up | %.2f cores of this process, machine %.0f%% busy; %.1f CPU-ms per parked run, so %d runs need %.0f CPU-s: at least %.0f s on %d cores |\n",
				p.ParkCPU.Cores, p.ParkCPU.MachineBusy*100, perPark, p.K, perPark*float64(p.K)/1000, perPark*float64(p.K)/1000/float64(r.Machine.Cores), r.Machine.Cores)
		}
		fmt.Fprintf(&b, "| before parking (after GC) | RSS %s, Go heap in use %s, goroutine stacks %s, goroutines %d |\n",
			mib(p.MemBefore.RSS), mib(p.MemBefore.HeapInuse), mib(p.MemBefore.StackInuse), p.MemBefore.Goroutines)
		fmt.Fprintf(&b, "| while they wait, before GC | RSS %s, Go heap in use %s, goroutines %d |\n", mib(p.MemNoGC.RSS), mib(p.MemNoGC.HeapInuse), p.MemNoGC.Goroutines)
		fmt.Fprintf(&b, "| while they wait, after GC | RSS %s, Go heap in use %s (live %s), goroutine stacks %s, Go runtime total %s, goroutines %d |\n",
			mib(p.Mem.RSS), mib(p.Mem.HeapInuse), mib(p.Mem.HeapAlloc), mib(p.Mem.StackInuse), mib(p.Mem.GoSys), p.Mem.Goroutines)
		fmt.Fprintf(&b, "| peak RSS of the whole run so far | %s |\n", mib(p.Mem.PeakRSS))
		if p.Parked > 0 {
			per := func(a, b uint64) float64 { return float64(int64(a)-int64(b)) / 1024 / float64(p.Parked) }
			fmt.Fprintf(&b, "| per parked run | %.1f KiB RSS, %.1f KiB Go heap in use (%.1f KiB live), %.1f KiB stacks, %.1f goroutines (after GC, over the pre-parking figures) |\n",
				per(p.Mem.RSS, p.MemBefore.RSS), per(p.Mem.HeapInuse, p.MemBefore.HeapInuse), per(p.Mem.HeapAlloc, p.MemBefore.HeapAlloc),
				per(p.Mem.StackInuse, p.MemBefore.StackInuse), float64(p.Mem.Goroutines-p.MemBefore.Goroutines)/float64(p.Parked))
		}
		if !o.NoApprove {
			n := p.decided()
			if p.Decide == DecideAsync {
				fmt.Fprintf(&b, "| approving (%s) | %d answered 202 (recorded on the run, which checks it), %d 200, in %s, %.1f/s, p99 per decision %s%s |\n",
					p.how(), p.Sent, p.Approved, secs(p.ApproveTime), p.approveRate(), ms(p.ApproveP99), budgetNote(n < p.Parked, p.ApproveBudget))
			} else {
				fmt.Fprintf(&b, "| approving (%s) | %d answered 200 (gate closed) and %d answered 202 (queued as a signal after 10 s) in %s, %.1f/s, p99 per decision %s%s |\n",
					p.how(), p.Approved, p.Queued, secs(p.ApproveTime), p.approveRate(), ms(p.ApproveP99), budgetNote(n < p.Parked, p.ApproveBudget))
			}
			if n > 0 {
				fmt.Fprintf(&b, "| CPU while the decisions were answered | %.2f cores of this process, machine %.0f%% busy; %.1f CPU-ms per decision (the runs already moving on included) |\n",
					p.DecideCPU.Cores, p.DecideCPU.MachineBusy*100, p.DecideCPU.Proc.Seconds()*1000/float64(n))
			}
			if n > 0 {
				per := p.ApproveCPU.Proc.Seconds() * 1000 / float64(n)
				fmt.Fprintf(&b, "| CPU from the first decision until the runs completed | %.2f cores of this process, machine %.0f%% busy; %.1f CPU-ms per decision (the runs' remaining steps included), so %d decisions need %.0f CPU-s: at least %.0f s on %d cores |\n",
					p.ApproveCPU.Cores, p.ApproveCPU.MachineBusy*100, per, p.K, per*float64(p.K)/1000, per*float64(p.K)/1000/float64(r.Machine.Cores), r.Machine.Cores)
			}
			fmt.Fprintf(&b, "| approved runs completed | %d of %d, %s after the first decision |\n", p.Completed, n, secs(p.CompleteTime))
		}
		if p.FirstError != "" {
			fmt.Fprintf(&b, "| errors | %d, first: `%s` |\n", p.Errors, oneLine(p.FirstError))
		}
		b.WriteString("\n")
	}

	if bp := r.BaselineParked; bp != nil {
		b.WriteString("### Parked approvals, hand-written floor\n\n")
		b.WriteString("A Go workflow that waits for an Update carrying the decision, then runs the same containment activity: no policy check, no approval message, no search attributes, no audit trail. Started and approved straight through the client (no HTTP API).\n\n| | |\n|---|---|\n")
		fmt.Fprintf(&b, "| decisions | %d of %d in %s, %.1f/s, p99 per decision %s |\n", bp.Approved, bp.K, secs(bp.ApproveTime), bp.rate(), ms(bp.P99))
		fmt.Fprintf(&b, "| CPU from the first decision until the runs completed | %.2f cores of this process, machine %.0f%% busy; %.1f CPU-ms per decision |\n", bp.CPU.Cores, bp.CPU.MachineBusy*100, bp.cpuPerDecision())
		fmt.Fprintf(&b, "| runs completed | %d of %d |\n", bp.Completed, bp.K)
		if bp.FirstError != "" {
			fmt.Fprintf(&b, "| errors | %d, first: `%s` |\n", bp.Errors, oneLine(bp.FirstError))
		}
		b.WriteString("\n")
	}

	if len(r.Micro) > 0 {
		b.WriteString("### Micro benchmarks\n\n")
		fmt.Fprintf(&b, "In process with `testing.Benchmark`, %s each, before the server starts (also `go test -bench . ./internal/bench`). CPU time is this process's (GC included); on a shared machine it is steadier than wall time.\n\n", o.MicroTime)
		b.WriteString("| benchmark | what | wall time/op | CPU time/op | allocs/op | B/op |\n|---|---|---|---|---|---|\n")
		for _, mr := range r.Micro {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d |\n", mr.Name, mr.What, nsString(mr.NsPerOp, mr.Scale), nsString(mr.cpu(), mr.Scale), mr.AllocsPerOp, mr.BytesPerOp)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// historyPair returns the Riposte and baseline history figures when both
// were read.
func (r *Report) historyPair() (rh, bh historyStats, ok bool) {
	var haveR, haveB bool
	for _, h := range r.History {
		if h.Err != "" || h.Runs == 0 {
			continue
		}
		switch h.Target {
		case "riposte":
			rh, haveR = h, true
		case "baseline":
			bh, haveB = h, true
		}
	}
	return rh, bh, haveR && haveB && bh.Events > 0 && bh.Bytes > 0
}

// nsString formats a time per op; scale converts it to "per 1,000".
func nsString(ns, scale float64) string {
	switch {
	case scale != 1:
		return fmt.Sprintf("%.1f ms (%.0f ms per 1,000)", ns/1e6, ns*scale/1e6)
	case ns > 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns > 1e4:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// cpuPerRun is the process CPU time per completed run of a phase.
func (r *Report) cpuPerRun(phase string, p *phaseResult) float64 {
	c, ok := r.CPU[phase]
	if !ok || p == nil || p.Total == 0 {
		return 0
	}
	return c.Proc.Seconds() * 1000 / float64(p.Total)
}

func budgetNote(cut bool, budget time.Duration) string {
	if !cut {
		return ""
	}
	return fmt.Sprintf("; stopped by the %s budget", budget)
}

func ms(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f ms", float64(d)/1e6)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "`", "'")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func roundsNote(o Options) string {
	if o.Rounds <= 1 || !o.has("baseline") || !o.has("riposte") {
		return ""
	}
	return fmt.Sprintf("The maximum-throughput phases of baseline and Riposte alternate in %d rounds of %s (B R, R B, ...; warm-up 2s after the first), pooled, "+
		"so that neither gains from going first while the database grows.", o.Rounds, (o.Duration / time.Duration(o.Rounds)).Round(time.Second))
}

// payloadsLine says how the run's payloads were stored.
func payloadsLine(o Options) string {
	if o.NoPayloadCompression {
		return "encrypted (AES-256-GCM), not compressed (--no-payload-compression)"
	}
	return "compressed (DEFLATE, where shorter) and encrypted (AES-256-GCM)"
}
