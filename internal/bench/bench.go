// Package bench is `riposte bench`, Riposte's performance measurement
// against a hand-written Temporal workflow. It starts what `riposte dev`
// starts (embedded Temporal on a durable SQLite file, the worker, the
// vendor lab, the HTTP API) in this process and measures, in one run:
//
//   - throughput and latency of a reference playbook (enrich, condition,
//     contain with approval: auto, ticket, notify) driven through the real
//     intake, POST /v1/detections, at a fixed concurrency;
//   - the same load on a hand-written Go workflow calling the same
//     activities (the baseline), started through an equivalent HTTP
//     handler, and the Riposte/baseline ratios;
//   - detection → first containment latency at half the maximum
//     throughput (an open-loop, rate-limited phase);
//   - K runs parked at an approval gate: memory while they wait, and the
//     time to approve them all through POST /v1/runs/{id}/approvals;
//   - a burst: N detections posted at once, the time until every run is
//     contained or gated and the share gated by reason, with a budget
//     larger than the burst and with a fifth of it;
//   - micro benchmarks: conditions, templates, playbook validation,
//     detection validation.
//
// The result is a markdown table with the machine, every figure and the
// targets. The package's test runs the smoke mode.
package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/internal/api"
)

// Options configures Run. Zero values take the defaults (see Defaults).
type Options struct {
	// Warmup precedes every load phase's measurement window.
	Warmup time.Duration
	// Duration is the measurement window of each maximum-throughput phase.
	Duration time.Duration
	// HalfDuration is the window of the half-throughput phase(s).
	HalfDuration time.Duration
	// Concurrency is the number of detections kept in flight.
	Concurrency int
	// Rounds is how many rounds the maximum-throughput phases of baseline
	// and Riposte alternate in (see maxPhases).
	Rounds int
	// Parked is K, the number of runs parked at an approval gate.
	Parked int
	// ParkedConcurrency bounds the requests in flight while parking and
	// approving.
	ParkedConcurrency int
	// BaselineParked is the number of hand-written runs parked and approved
	// with plain client Updates: the floor the decisions are compared with.
	BaselineParked int
	// ParkBudget and ApproveBudget bound the time spent parking runs and
	// approving them (0 = none): a machine too slow to do K in time stops
	// early and the report extrapolates from the measured rates.
	// CompleteBudget bounds the wait for the approved runs to complete.
	ParkBudget, ApproveBudget, CompleteBudget time.Duration
	// NoApprove leaves the parked runs waiting (memory experiments).
	NoApprove bool
	// Decide is how the parked runs are approved through the API:
	// DecideAsync (default; "Prefer: respond-async", a signal per decision)
	// or DecideUpdate (an Update per decision, answered once the run's
	// validator accepted it).
	Decide string
	// Burst is N, the detections of the burst phase posted at once (at
	// most 1000); BurstPosters requests of BurstPerRequest detections are
	// kept in flight.
	Burst, BurstPosters, BurstPerRequest int
	// MicroTime is each micro benchmark's benchtime; Playbooks the number
	// of playbooks of the "validate N playbooks" benchmark.
	MicroTime time.Duration
	Playbooks int
	// HistorySample is how many completed runs of each side of the
	// maximum-throughput phases have their histories read (events and
	// bytes per run); 0 takes the default, negative reads none.
	HistorySample int
	// HistoryDump, when set, is a directory where the first sampled
	// history of each side is written as the server stores it
	// (<side>.history.json) and with every payload's stored and plaintext
	// size (<side>.payloads.txt): where a run's bytes go.
	HistoryDump string
	// Phases to run: micro, baseline, riposte, half, baseline-half, parked,
	// baseline-parked, burst.
	Phases []string
	// DataDir holds the SQLite file; "" = a temporary directory, removed
	// afterwards unless Keep.
	DataDir string
	Keep    bool
	// Worker and DynamicConfig tune the worker and the server (for tuning
	// experiments; the defaults are riposte dev's).
	Worker        worker.Options
	DynamicConfig map[string]any
	// RateLimit is the API's per-token rate limit (riposte dev: 100/s,
	// burst 200); zero = none, the default here, so that the engine is
	// measured rather than the limit.
	RateLimit api.RateLimit
	// GRPCCompression turns the SDK client's default gzip back on (riposte
	// dev turns it off for its loopback connection).
	GRPCCompression bool
	// NoPayloadCompression encrypts payloads without compressing them,
	// as releases before 2026-12-05 did (to measure the lever).
	NoPayloadCompression bool
	// InlinePlaybooks starts runs with the playbook in their input, as
	// releases before playbooks were passed by reference (to measure the
	// lever).
	InlinePlaybooks bool
	// StickyCache sets the SDK's sticky workflow cache size when > 0.
	StickyCache int
	// CPUProfile and MemProfile are pprof output files ("" = none). The
	// heap profile is taken while the parked runs wait (or at the end).
	CPUProfile string
	// ApproveCPUProfile, when set, profiles only the approval stretch of
	// the parked phase (not with CPUProfile: one profile at a time).
	ApproveCPUProfile string
	MemProfile        string
	Smoke             bool
	// Temporal, when set, is the frontend (host:port) of an external
	// Temporal cluster (e.g. on PostgreSQL) used instead of the embedded
	// server, in Namespace, which riposte setup must have prepared. The
	// worker, the lab and the API still run in this process, on a task
	// queue of their own.
	Temporal  string
	Namespace string
	// Logger gets progress; nil = discard.
	Logger *slog.Logger
	// Command is the command line shown in the report.
	Command string
}

// AllPhases are the phases of a default run, in order.
var AllPhases = []string{"micro", "baseline", "riposte", "half", "baseline-half", "parked", "baseline-parked", "burst"}

// Defaults returns the options of a default (or smoke) run. The default
// run takes about 8 to 9 minutes on a 2-core machine.
func Defaults(smoke bool) Options {
	if smoke {
		return Options{Warmup: time.Second, Duration: 2 * time.Second, HalfDuration: 2 * time.Second, Concurrency: 4, Rounds: 1,
			Parked: 50, ParkedConcurrency: 8, BaselineParked: 20, MicroTime: 20 * time.Millisecond, Playbooks: 20, Phases: AllPhases, Smoke: true, HistorySample: 3,
			Burst: 50, BurstPosters: 8, BurstPerRequest: 5, Decide: DecideAsync}
	}
	return Options{Warmup: 5 * time.Second, Duration: 30 * time.Second, HalfDuration: 20 * time.Second, Concurrency: 16, Rounds: 3,
		Parked: 10000, ParkedConcurrency: 32, BaselineParked: 1000, ParkBudget: 150 * time.Second, ApproveBudget: 60 * time.Second, CompleteBudget: 5 * time.Minute, Decide: DecideAsync,
		MicroTime: time.Second, Playbooks: 1000, Phases: AllPhases, Burst: 500, HistorySample: 20, BurstPosters: 16, BurstPerRequest: 5}
}

// How the parked phase decides (Options.Decide).
const (
	DecideAsync  = "async"
	DecideUpdate = "update"
)

func (o *Options) applyDefaults() {
	d := Defaults(o.Smoke)
	o.Decide = cmp.Or(o.Decide, d.Decide)
	orDefault(&o.Warmup, d.Warmup)
	orDefault(&o.Duration, d.Duration)
	orDefault(&o.HalfDuration, d.HalfDuration)
	orDefault(&o.Concurrency, d.Concurrency)
	orDefault(&o.Rounds, d.Rounds)
	orDefault(&o.Parked, d.Parked)
	orDefault(&o.Burst, d.Burst)
	orDefault(&o.BurstPosters, d.BurstPosters)
	orDefault(&o.BurstPerRequest, d.BurstPerRequest)
	orDefault(&o.ParkedConcurrency, d.ParkedConcurrency)
	orDefault(&o.BaselineParked, d.BaselineParked)
	budgetOr(&o.ParkBudget, d.ParkBudget)
	budgetOr(&o.ApproveBudget, d.ApproveBudget)
	budgetOr(&o.CompleteBudget, d.CompleteBudget)
	if o.HistorySample == 0 { // negative: read no histories
		o.HistorySample = d.HistorySample
	}
	orDefault(&o.MicroTime, d.MicroTime)
	orDefault(&o.Playbooks, d.Playbooks)
	if len(o.Phases) == 0 {
		o.Phases = d.Phases
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// orDefault sets an option left at zero (or negative) to its default.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// budgetOr sets a budget left at zero to its default; a negative budget
// means none (0).
func budgetOr(v *time.Duration, def time.Duration) {
	if *v < 0 {
		*v = 0
	} else if *v == 0 {
		*v = def
	}
}

func (o *Options) has(phase string) bool {
	for _, p := range o.Phases {
		if p == phase {
			return true
		}
	}
	return false
}

// Report is everything one run measured.
type Report struct {
	Options     Options
	Started     time.Time
	Elapsed     time.Duration
	Machine     machine
	LoadStart   string
	LoadEnd     string
	StartupTime time.Duration
	// SettleWait is how long the load phases waited for the server's
	// search attribute caches (devserver.Server.Settled).
	SettleWait   time.Duration
	DataDir      string
	Micro        []microResult
	Baseline     *phaseResult
	Riposte      *phaseResult
	Half         *phaseResult
	BaselineHalf *phaseResult
	Parked       *parkedResult
	// BaselineParked is the hand-written floor of the parked decisions.
	BaselineParked *baselineParkedResult
	// Bursts are the burst phase's bursts (large budget, limited budget).
	Bursts []burstResult
	CPU    map[string]cpuUse
	// History is what the server stored per run, for each side of the
	// maximum-throughput phases (baseline first).
	History []historyStats
	// Throttled counts 429 answers of the API's rate limit (retried).
	Throttled int64
}

// Run runs the benchmark and returns its report.
func Run(ctx context.Context, o Options) (rep *Report, err error) {
	o.applyDefaults()
	logger := o.Logger
	logf := func(format string, args ...any) { logger.Info(fmt.Sprintf(format, args...)) }
	rep = &Report{Options: o, Started: time.Now(), Machine: readMachine(), LoadStart: loadAverage(), CPU: map[string]cpuUse{}}
	defer func() {
		rep.Elapsed = time.Since(rep.Started)
		rep.LoadEnd = loadAverage()
	}()
	for _, p := range o.Phases {
		known := false
		for _, a := range AllPhases {
			known = known || a == p
		}
		if !known {
			return nil, fmt.Errorf("unknown phase %q (phases: %s)", p, strings.Join(AllPhases, ", "))
		}
	}
	if o.has("burst") && o.Burst > 1000 {
		return nil, fmt.Errorf("--burst must be at most 1000 (runs are watched through one page of GET /v1/runs), got %d", o.Burst)
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	heapTaken := false
	heapProfile := func() {
		if o.MemProfile == "" || heapTaken {
			return
		}
		heapTaken = true
		writeProfile(logger, "heap", o.MemProfile, 0)
		// Goroutines next to it, as text: who holds the stacks.
		writeProfile(logger, "goroutine", o.MemProfile+".goroutines.txt", 1)
	}
	defer heapProfile()

	// Micro benchmarks first, on a quiet process.
	if o.has("micro") {
		logf("micro benchmarks (%s each)", o.MicroTime)
		m := markCPU()
		rep.Micro = runMicros(o.MicroTime, o.Playbooks, logf)
		rep.CPU["micro"] = since(m)
	}
	if !o.has("baseline") && !o.has("riposte") && !o.has("half") && !o.has("baseline-half") && !o.has("parked") && !o.has("baseline-parked") && !o.has("burst") {
		return rep, nil
	}

	dir := o.DataDir
	if dir == "" {
		dir, err = os.MkdirTemp("", "riposte-bench-")
		if err != nil {
			return nil, err
		}
		if !o.Keep {
			defer os.RemoveAll(dir)
		}
	}
	rep.DataDir = dir
	if o.Temporal != "" {
		logf("using the Temporal cluster at %s (namespace %s); starting the worker, lab and API", o.Temporal, o.Namespace)
	} else {
		logf("starting embedded Temporal (SQLite in %s), worker, lab and API", dir)
	}
	t0 := time.Now()
	sys, err := startSystem(ctx, dir, o, logger)
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	rep.StartupTime = time.Since(t0)
	// A fresh data dir has just registered the search attributes, and the
	// server reads them from the database on every use for a minute: that
	// is riposte dev's first minute, not its steady state. Smoke runs do
	// not wait.
	if !o.Smoke && sys.server != nil {
		select {
		case <-sys.server.Settled():
		default:
			logf("waiting for the server's search attribute caches to settle (first minute of a fresh data dir)")
			t1 := time.Now()
			select {
			case <-sys.server.Settled():
			case <-ctx.Done():
				return rep, ctx.Err()
			}
			rep.SettleWait = time.Since(t1)
		}
	}
	l := newLoader(sys)

	phase := func(name string, f func()) {
		if ctx.Err() != nil {
			return
		}
		m := markCPU()
		f()
		rep.CPU[name] = since(m)
	}
	ref := riposteTarget(referenceProduct)
	l.maxPhases(ctx, o, rep, ref, logf)
	rate := 0.0
	if rep.Riposte != nil {
		rate = rep.Riposte.Throughput / 2
	}
	if rate <= 0 {
		rate = 2
	}
	if o.has("half") {
		phase("half", func() {
			logf("riposte at half throughput: open loop, %.1f detections/s, %s warm-up + %s", rate, o.Warmup/2, o.HalfDuration)
			r := l.runOpenLoop(ctx, ref, "half", rate, o.Warmup/2, o.HalfDuration)
			waitIdle(ctx, 15*time.Second)
			rep.Half = &r
			logf("riposte half: p99 contain %s, p99 done %s", r.Contain.P99, r.Done.P99)
		})
	}
	if o.has("baseline-half") {
		phase("baseline-half", func() {
			logf("baseline at the same rate: open loop, %.1f detections/s, %s warm-up + %s", rate, o.Warmup/2, o.HalfDuration)
			r := l.runOpenLoop(ctx, baselineTarget(), "half", rate, o.Warmup/2, o.HalfDuration)
			waitIdle(ctx, 15*time.Second)
			rep.BaselineHalf = &r
			logf("baseline half: p99 contain %s, p99 done %s", r.Contain.P99, r.Done.P99)
		})
	}
	if o.has("parked") {
		phase("parked", func() {
			logf("parked: %d runs waiting at an approval gate (%d requests in flight)", o.Parked, o.ParkedConcurrency)
			r := l.runParked(ctx, o, logf, heapProfile)
			rep.Parked = &r
		})
	}
	if o.has("baseline-parked") {
		phase("baseline-parked", func() {
			r := l.runBaselineParked(ctx, o.BaselineParked, o.ParkedConcurrency, logf)
			rep.BaselineParked = &r
		})
	}
	if o.has("burst") {
		phase("burst", func() {
			rep.Bursts = l.runBursts(ctx, o, logf)
		})
	}
	rep.Throttled = l.throttled.Load()
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

// maxPhases runs the maximum-throughput phases. Baseline and Riposte
// alternate in o.Rounds rounds (B R, R B, B R, ...) of Duration/Rounds
// each and their rounds are pooled: the database and the heap grow during
// the run, so whichever went first in one long window would be favoured.
func (l *loader) maxPhases(ctx context.Context, o Options, rep *Report, ref target, logf func(string, ...any)) {
	type leg struct {
		key  string
		t    target
		out  **phaseResult
		segs []segment
		cpu  cpuUse
	}
	var legs []*leg
	if o.has("baseline") {
		legs = append(legs, &leg{key: "baseline", t: baselineTarget(), out: &rep.Baseline})
	}
	if o.has("riposte") {
		legs = append(legs, &leg{key: "riposte", t: ref, out: &rep.Riposte})
	}
	if len(legs) == 0 {
		return
	}
	rounds := max(o.Rounds, 1)
	per := o.Duration / time.Duration(rounds)
	for round := range rounds {
		order := slices.Clone(legs)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		warm := o.Warmup
		if round > 0 {
			// The system is warm; only the pipeline needs refilling.
			warm = min(o.Warmup, 2*time.Second)
		}
		for _, lg := range order {
			if ctx.Err() != nil {
				return
			}
			logf("%s: round %d of %d, closed loop, %d in flight, %s warm-up + %s", lg.key, round+1, rounds, o.Concurrency, warm, per)
			m := markCPU()
			lg.segs = append(lg.segs, l.closedLoop(ctx, lg.t, "max", o.Concurrency, warm, per))
			// The server's deferred work (visibility writes) belongs to
			// this segment, not to the next one.
			waitIdle(ctx, 15*time.Second)
			lg.cpu = lg.cpu.add(since(m))
		}
	}
	for _, lg := range legs {
		r := summarize(lg.segs...)
		r.Name, r.Target, r.Concurrency = "max", lg.t.name, o.Concurrency
		*lg.out = &r
		rep.CPU[lg.key] = lg.cpu
		logf("%s: %.1f runs/s, p99 done %s", lg.key, r.Throughput, r.Done.P99)
	}
	// Histories are read after every round, so reading them costs no phase.
	for _, lg := range legs {
		if o.HistorySample < 0 || ctx.Err() != nil {
			break
		}
		ids := completedIDs(lg.segs...)
		h := sampleHistories(ctx, l.sys.client, lg.key, ids, o.HistorySample)
		if o.HistoryDump != "" && len(ids) > 0 {
			if err := dumpHistory(ctx, l.sys.client, l.sys.Keys, o.HistoryDump, lg.key, ids[0]); err != nil {
				logf("%s: dumping a history: %v", lg.key, err)
			}
		}
		rep.History = append(rep.History, h)
		logf("%s: %.1f history events and %.0f bytes per run (%d runs read)", lg.key, h.Events, h.Bytes, h.Runs)
	}
}

// Main runs `riposte bench` with command-line args and returns the exit
// code. It is shared by `riposte bench` and cmd/riposte-bench.
func Main(ctx context.Context, prog string, args []string, stdout, stderr io.Writer) int {
	o, out, err := parseFlags(prog, args, stderr)
	if err != nil {
		if errors.Is(err, errHelp) {
			return 0
		}
		return 2
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel()}))
	rep, err := Run(ctx, o.Options)
	if rep == nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	md := rep.Markdown()
	fmt.Fprint(stdout, md)
	if out != "" {
		if werr := os.WriteFile(out, []byte(md), 0o644); werr != nil {
			fmt.Fprintf(stderr, "%s: writing %s: %v\n", prog, out, werr)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	return 0
}

// writeProfile writes the named runtime profile to path (debug as in
// pprof.Profile.WriteTo); a failure is logged, the bench goes on.
func writeProfile(logger *slog.Logger, name, path string, debug int) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup(name).WriteTo(f, debug)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		logger.Error(name+" profile", "error", err)
	}
}
