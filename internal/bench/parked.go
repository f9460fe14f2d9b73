package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// memory is the process's memory use (server + worker + API + lab: they
// all run in this process).
type memory struct {
	RSS        uint64 // VmRSS
	PeakRSS    uint64 // VmHWM
	HeapInuse  uint64
	HeapAlloc  uint64
	StackInuse uint64 // goroutine stacks
	GoSys      uint64 // memory obtained from the OS by the Go runtime
	Goroutines int
}

// readMemory reads /proc/self/status and the Go runtime's statistics.
func readMemory() memory {
	var m memory
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.HeapInuse, m.HeapAlloc, m.GoSys, m.StackInuse = ms.HeapInuse, ms.HeapAlloc, ms.Sys, ms.StackInuse
	m.Goroutines = runtime.NumGoroutine()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseUint(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			m.RSS = n << 10
		case "VmHWM":
			m.PeakRSS = n << 10
		}
	}
	return m
}

// parkedResult is the parked-approvals phase's measurements.
type parkedResult struct {
	K         int
	Parked    int           // runs that reached their gate
	ParkTime  time.Duration // first detection posted until every posted run waits at its gate
	ParkCPU   cpuUse
	MemBefore memory // before the phase (after a GC)
	Mem       memory // while the runs wait (after a GC)
	MemNoGC   memory // while they wait, before the forced GC
	Approved  int    // decisions answered 200 (the gate closed)
	Queued    int    // decisions answered 202 (no worker took the Update within 10 s; sent as a signal)
	Sent      int    // decisions answered 202 to Prefer: respond-async (recorded; the run checks them)
	Decide    string // DecideAsync or DecideUpdate
	// DecideCPU is the CPU while the decisions were being answered only.
	DecideCPU    cpuUse
	ApproveTime  time.Duration
	ApproveCPU   cpuUse
	ApproveP99   time.Duration // per-decision answer time
	CompleteTime time.Duration // first decision posted until every approved run completed
	DrainTime    time.Duration // after the last run parked, until the process was idle
	Completed    int
	Errors       int
	FirstError   string
	Concurrency  int
	// Budgets that cut the phase short (0 = none).
	ParkBudget, ApproveBudget time.Duration
}

// parkRate and approveRate are the measured rates (per second).
func (r *parkedResult) parkRate() float64 {
	if r.ParkTime <= 0 {
		return 0
	}
	return float64(r.Parked) / r.ParkTime.Seconds()
}

// decided is the decisions the API took: answered 200, or 202 (queued
// after no worker answered, or sent with Prefer: respond-async).
func (r *parkedResult) decided() int { return r.Approved + r.Queued + r.Sent }

// how says how the decisions went through the API, for the report.
func (r *parkedResult) how() string {
	if r.Decide == DecideAsync {
		return "Prefer: respond-async, a signal each"
	}
	return "an Update each"
}

func (r *parkedResult) approveRate() float64 {
	if r.ApproveTime <= 0 {
		return 0
	}
	return float64(r.decided()) / r.ApproveTime.Seconds()
}

// rssAtK extrapolates RSS linearly to K parked runs when fewer parked.
func (r *parkedResult) rssAtK() uint64 {
	if r.Parked >= r.K || r.Parked == 0 {
		return r.Mem.RSS
	}
	per := (float64(r.Mem.RSS) - float64(r.MemBefore.RSS)) / float64(r.Parked)
	return uint64(float64(r.MemBefore.RSS) + per*float64(r.K))
}

// approveAllTime is the time to approve all K, extrapolated from the
// measured rate when the budget stopped the phase first.
func (r *parkedResult) approveAllTime() time.Duration {
	if r.decided() >= r.K {
		return r.ApproveTime
	}
	if rate := r.approveRate(); rate > 0 {
		return time.Duration(float64(r.K) / rate * float64(time.Second))
	}
	return 0
}

// waitIdle waits until this process uses under a fifth of a core over a
// second, or max, and returns how long it waited.
func waitIdle(ctx context.Context, max time.Duration) time.Duration {
	start := time.Now()
	for time.Since(start) < max && ctx.Err() == nil {
		m := markCPU()
		time.Sleep(time.Second)
		if since(m).Cores < 0.2 {
			break
		}
	}
	return time.Since(start)
}

// parkBacklog bounds the runs started but not yet waiting at their gate,
// so that posting keeps pace with parking and the phase ends soon after
// its budget.
const parkBacklog = 200

// runParked starts k runs that wait at an approval gate, measures memory
// while they all wait, then approves every one through the API with
// bounded concurrency. parkBudget and approveBudget (0 = none) stop
// posting detections or decisions early on a machine too slow to do all k
// in time; the report then extrapolates from the measured rates.
func (l *loader) runParked(ctx context.Context, o Options, logf func(string, ...any), heapProfile func()) parkedResult {
	k, conc := o.Parked, o.ParkedConcurrency
	r := parkedResult{K: k, Concurrency: conc, ParkBudget: o.ParkBudget, ApproveBudget: o.ApproveBudget, Decide: o.Decide}
	gc()
	r.MemBefore = readMemory()
	t := riposteTarget(parkedProduct)
	ids := make([]string, 0, k)
	var mu sync.Mutex
	var errs atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		errs.Add(1)
		firstErr.CompareAndSwap(nil, err.Error())
	}
	opened := func() int64 { return l.sys.probe.gatesOpened.Load() }
	opened0 := opened()
	done0 := l.sys.probe.completed.Load()
	over := func(start time.Time, budget time.Duration) bool { return budget > 0 && time.Since(start) > budget }

	cpu := markCPU()
	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				id, _, _, err := l.submit(ctx, t, "parked")
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}()
	}
	last := time.Now()
	posted := 0
	for ; posted < k && ctx.Err() == nil && !over(start, r.ParkBudget); posted++ {
		for int64(posted)-(opened()-opened0) > parkBacklog && ctx.Err() == nil && !over(start, r.ParkBudget) {
			time.Sleep(10 * time.Millisecond)
		}
		work <- posted
		if time.Since(last) > 15*time.Second {
			logf("parked: %d/%d posted, %d waiting at their gate", posted, k, opened()-opened0)
			last = time.Now()
		}
	}
	close(work)
	wg.Wait()
	if posted < k {
		logf("parked: budget of %s used up after posting %d of %d", r.ParkBudget, posted, k)
	}
	// A run has parked when its approval request activity returned.
	deadline := time.Now().Add(10 * time.Minute)
	for opened()-opened0 < int64(len(ids)) && time.Now().Before(deadline) && ctx.Err() == nil {
		if time.Since(last) > 15*time.Second {
			logf("parked: %d/%d waiting at their gate", opened()-opened0, len(ids))
			last = time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.ParkTime = time.Since(start)
	r.Parked = int(opened() - opened0)
	// The server defers work (visibility writes above all) and catches up
	// after the runs have parked: wait until it is idle, so that parking's
	// cost is billed to parking and not to the approvals measured next.
	r.DrainTime = waitIdle(ctx, 90*time.Second)
	r.ParkCPU = since(cpu)
	logf("parked: the server caught up %s after the last run parked", r.DrainTime.Round(time.Second))
	r.MemNoGC = readMemory()
	gc()
	r.Mem = readMemory()
	if heapProfile != nil {
		heapProfile()
	}
	logf("parked: %d runs waiting; RSS %s, heap in use %s", r.Parked, mib(r.Mem.RSS), mib(r.Mem.HeapInuse))
	if o.NoApprove {
		return r
	}

	// Approve every run through the API.
	body := []byte(`{"step":"contain","decision":"approve","user":"` + approver + `"}`)
	var approved, queued, sent atomic.Int64
	prefer := ""
	if o.Decide == DecideAsync {
		prefer = "respond-async"
	}
	var lat []time.Duration
	if o.ApproveCPUProfile != "" && o.CPUProfile == "" {
		if f, err := os.Create(o.ApproveCPUProfile); err != nil {
			fail(err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
			f.Close()
		} else {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	cpu = markCPU()
	start = time.Now()
	work = make(chan int)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t0 := time.Now()
				code, b, err := l.postPrefer(ctx, "/v1/runs/"+url.PathEscape(ids[i])+"/approvals", body, prefer)
				d := time.Since(t0)
				switch {
				case err != nil:
					fail(err)
				case code == 202 && prefer != "":
					sent.Add(1)
				case code == 202:
					queued.Add(1)
				case code != 200:
					fail(fmt.Errorf("approving %s: HTTP %d: %s", ids[i], code, b))
				default:
					approved.Add(1)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	for i := range ids {
		if ctx.Err() != nil || over(start, r.ApproveBudget) {
			logf("parked: approval budget of %s used up after %d of %d decisions", r.ApproveBudget, i, len(ids))
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	r.ApproveTime = time.Since(start)
	r.DecideCPU = since(cpu)
	r.Approved, r.Queued, r.Sent = int(approved.Load()), int(queued.Load()), int(sent.Load())
	r.ApproveP99 = pct(lat).P99
	logf("parked: %d decisions answered in %s; waiting for the runs to complete", r.decided(), r.ApproveTime.Round(time.Millisecond))
	want := done0 + int64(r.decided())
	wait := o.CompleteBudget
	if wait <= 0 {
		wait = 10 * time.Minute
	}
	deadline = time.Now().Add(wait)
	for l.sys.probe.completed.Load() < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	r.CompleteTime = time.Since(start)
	r.ApproveCPU = since(cpu) // decisions and the runs' remaining steps
	r.Completed = int(l.sys.probe.completed.Load() - done0)
	l.sys.probe.mu.Lock()
	for _, id := range ids {
		delete(l.sys.probe.runs, id)
	}
	l.sys.probe.mu.Unlock()
	r.Errors = int(errs.Load())
	if v := firstErr.Load(); v != nil {
		r.FirstError = v.(string)
	}
	return r
}

// gc collects garbage and returns freed memory to the OS, so RSS shows
// what is live.
func gc() {
	runtime.GC()
	debug.FreeOSMemory()
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
