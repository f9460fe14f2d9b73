package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/riposte-dev/riposte/internal/engine"
)

// Usage is the help text of `riposte bench`.
const Usage = `Usage: riposte bench [flags]

Starts what riposte dev starts (embedded Temporal on a durable SQLite file
in a temporary data dir, the worker, the vendor lab, the HTTP API) in this
process and measures: reference-playbook throughput and latency through
POST /v1/detections; the same load on a hand-written Go workflow (the
baseline) and the ratios; detection -> first containment latency at half
the maximum throughput; memory with K runs parked at an approval gate and
the time to approve them all through the API; a burst of N detections at
once (time until every run is contained or gated, share gated by reason,
with a large and with a limited budget); micro benchmarks. Prints a
markdown table (and writes it to --out). The default run takes about 9
minutes; --smoke takes seconds (CI).`

var errHelp = errors.New("help")

// cliOptions are the flags: Options plus output and logging.
type cliOptions struct {
	Options
	level string
}

func (c *cliOptions) logLevel() slog.Level {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(c.level)); err != nil {
		return slog.LevelInfo
	}
	return lv
}

func parseFlags(prog string, args []string, stderr io.Writer) (cliOptions, string, error) {
	var c cliOptions
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nFlags:\n", Usage)
		fs.PrintDefaults()
	}
	d := Defaults(false)
	var out, phases string
	var dc multiFlag
	fs.BoolVar(&c.Smoke, "smoke", false, "tiny durations and K=50: checks that everything works, in seconds (CI); explicit flags still apply")
	fs.DurationVar(&c.Warmup, "warmup", 0, fmt.Sprintf("warm-up before each load phase's window (default %s)", d.Warmup))
	fs.DurationVar(&c.Duration, "duration", 0, fmt.Sprintf("measurement window of each maximum-throughput phase (default %s)", d.Duration))
	fs.DurationVar(&c.HalfDuration, "half-duration", 0, fmt.Sprintf("measurement window of the half-throughput phases (default %s)", d.HalfDuration))
	fs.IntVar(&c.Rounds, "rounds", 0, fmt.Sprintf("rounds the baseline and Riposte maximum-throughput phases alternate in (default %d)", d.Rounds))
	fs.IntVar(&c.Concurrency, "concurrency", 0, fmt.Sprintf("detections in flight in the maximum-throughput phases (default %d)", d.Concurrency))
	fs.IntVar(&c.Parked, "parked", 0, fmt.Sprintf("K: runs parked at an approval gate at once (default %d)", d.Parked))
	fs.IntVar(&c.BaselineParked, "baseline-parked", 0, fmt.Sprintf("hand-written runs parked and approved with client Updates, the floor of the decisions (default %d)", d.BaselineParked))
	fs.IntVar(&c.ParkedConcurrency, "parked-concurrency", 0, fmt.Sprintf("requests in flight while parking and approving (default %d)", d.ParkedConcurrency))
	fs.DurationVar(&c.ParkBudget, "parked-budget", 0, fmt.Sprintf("stop posting parked detections after this long; the report extrapolates to K (default %s; -1s = none)", d.ParkBudget))
	fs.DurationVar(&c.ApproveBudget, "approve-budget", 0, fmt.Sprintf("stop posting approvals after this long; the report extrapolates to K (default %s; -1s = none)", d.ApproveBudget))
	fs.DurationVar(&c.CompleteBudget, "complete-budget", 0, fmt.Sprintf("wait at most this long for the approved runs to complete (default %s; -1s = 10m)", d.CompleteBudget))
	fs.BoolVar(&c.NoApprove, "no-approve", false, "leave the parked runs waiting (memory experiments)")
	fs.StringVar(&c.Decide, "decide", "", fmt.Sprintf("how the parked runs are approved through the API: %s (Prefer: respond-async, a signal each) or %s (an Update each, answered once the run accepted it) (default %s)", DecideAsync, DecideUpdate, d.Decide))
	fs.IntVar(&c.Burst, "burst", 0, fmt.Sprintf("N: detections of the burst phase posted at once, 1 to 1000 (default %d)", d.Burst))
	fs.IntVar(&c.BurstPosters, "burst-posters", 0, fmt.Sprintf("requests in flight while posting the burst (default %d)", d.BurstPosters))
	fs.IntVar(&c.BurstPerRequest, "burst-per-request", 0, fmt.Sprintf("detections per request of the burst (default %d)", d.BurstPerRequest))
	fs.DurationVar(&c.MicroTime, "benchtime", 0, fmt.Sprintf("time of each micro benchmark (default %s)", d.MicroTime))
	fs.IntVar(&c.Playbooks, "playbooks", 0, fmt.Sprintf("playbooks in the 'validate N playbooks' micro benchmark (default %d)", d.Playbooks))
	fs.IntVar(&c.HistorySample, "history-sample", 0, fmt.Sprintf("completed runs of each side whose histories are read for events and bytes per run (default %d; -1 = none)", d.HistorySample))
	fs.StringVar(&c.HistoryDump, "history-dump", "", "write the first sampled history of each side to this directory, as stored and with each payload's stored and plaintext size (decrypted, readable by the owner only)")
	fs.StringVar(&phases, "phases", strings.Join(AllPhases, ","), "phases to run, comma-separated")
	fs.StringVar(&out, "out", "", "also write the markdown report to this file")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.StringVar(&c.ApproveCPUProfile, "approve-cpuprofile", "", "write a CPU profile of the parked phase's approvals only to this file (not with --cpuprofile)")
	fs.StringVar(&c.MemProfile, "memprofile", "", "write a heap profile (taken while the parked runs wait) to this file, and the goroutines then to FILE.goroutines.txt")
	fs.StringVar(&c.DataDir, "data-dir", "", "directory for the SQLite file (default: a temporary directory, removed afterwards)")
	fs.BoolVar(&c.Keep, "keep", false, "keep the temporary data dir")
	fs.StringVar(&c.level, "log-level", "info", "progress log level on stderr: debug, info, warn or error")
	// Tuning experiments: worker options and server dynamic config.
	fs.IntVar(&c.Worker.MaxConcurrentWorkflowTaskPollers, "wft-pollers", 0, "worker: workflow task pollers (0 = SDK default)")
	fs.IntVar(&c.Worker.MaxConcurrentActivityTaskPollers, "activity-pollers", 0, "worker: activity task pollers (0 = SDK default)")
	fs.IntVar(&c.Worker.MaxConcurrentWorkflowTaskExecutionSize, "max-wft", 0, "worker: concurrent workflow tasks (0 = SDK default)")
	fs.IntVar(&c.Worker.MaxConcurrentActivityExecutionSize, "max-activities", 0, "worker: concurrent activities (0 = SDK default)")
	fs.IntVar(&c.StickyCache, "sticky-cache", 0, fmt.Sprintf("worker: sticky workflow cache size (0 = riposte dev's default, %d)", engine.DefaultStickyCacheSize))
	fs.Float64Var(&c.RateLimit.PerSecond, "rate-limit", 0, "API requests per second per token, as riposte dev's --rate-limit (default 0 = no limit; riposte dev defaults to 100)")
	fs.IntVar(&c.RateLimit.Burst, "rate-burst", 200, "API request burst per token, with --rate-limit")
	fs.BoolVar(&c.InlinePlaybooks, "inline-playbooks", false, "runs carry the whole playbook in their input, as before playbooks were passed by reference (measures that lever)")
	fs.BoolVar(&c.NoPayloadCompression, "no-payload-compression", false, "codec: encrypt payloads without compressing them first, as before 2026-12-05 (measures that lever)")
	fs.BoolVar(&c.GRPCCompression, "grpc-compression", false, "client: gzip gRPC requests to the loopback server (the SDK's default; riposte dev turns it off)")
	fs.StringVar(&c.Temporal, "temporal", "", "frontend host:port of an external Temporal cluster to measure instead of the embedded server (e.g. on PostgreSQL); its namespace must be prepared by riposte setup")
	fs.StringVar(&c.Namespace, "namespace", "riposte-bench", "namespace on the --temporal cluster, for the benchmark alone: its worker polls the default task queue there (riposte setup --namespace NS prepares it)")
	fs.Var(&dc, "dc", "server dynamic config override key=value (repeatable; ints, floats, bools, durations as strings)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, "", errHelp
		}
		return c, "", err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", prog, fs.Args())
		return c, "", errors.New("arguments")
	}
	for _, p := range strings.Split(phases, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.Phases = append(c.Phases, p)
		}
	}
	if len(dc) > 0 {
		c.DynamicConfig = map[string]any{}
		for _, kv := range dc {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				fmt.Fprintf(stderr, "%s: --dc %q: want key=value\n", prog, kv)
				return c, "", errors.New("dc")
			}
			c.DynamicConfig[k] = parseValue(v)
		}
	}
	if c.Decide != "" && c.Decide != DecideAsync && c.Decide != DecideUpdate {
		fmt.Fprintf(stderr, "%s: --decide %q: want %s or %s\n", prog, c.Decide, DecideAsync, DecideUpdate)
		return c, "", errors.New("decide")
	}
	if c.Temporal != "" && len(c.DynamicConfig) > 0 {
		fmt.Fprintf(stderr, "%s: --dc applies to the embedded server only; set dynamic config on the --temporal cluster itself\n", prog)
		return c, "", errors.New("dc")
	}
	c.Command = "riposte bench " + strings.Join(args, " ")
	if _, err := os.Stat("/proc/self/status"); err != nil {
		fmt.Fprintf(stderr, "%s: note: /proc is not available; RSS will read 0\n", prog)
	}
	return c, out, nil
}

func parseValue(v string) any {
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return v
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
