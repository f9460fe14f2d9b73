package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// labHosts are hosts the lab's CrowdStrike fake knows.
var labHosts = []string{"fin-ws-042", "web-prod-01", "db-prod-02", "eng-lt-117", "hr-ws-007", "ops-ws-011", "sales-lt-023"}

// detectionBody is one OCSF detection (class 2004) with a distinct finding
// uid, reporting beaconing to the lab's known-bad IP.
func detectionBody(product, uid string, n int) []byte {
	host := labHosts[n%len(labHosts)]
	return fmt.Appendf(nil, `{"class_uid":2004,"class_name":"Detection Finding","activity_id":1,"type_uid":200401,`+
		`"time":%d,"severity_id":4,"severity":"High","confidence_score":92,"status_id":1,`+
		`"message":"%s contacted 203.0.113.77:443 every 60 s",`+
		`"metadata":{"version":"1.4.0","product":{"name":%q,"vendor_name":"Riposte","version":"1.0"}},`+
		`"finding_info":{"uid":%q,"title":"Periodic HTTPS beaconing to a newly registered domain",`+
		`"attacks":[{"tactic":{"uid":"TA0011","name":"Command and Control"},"technique":{"uid":"T1071","name":"Application Layer Protocol"}}]},`+
		`"device":{"hostname":%q,"ip":"10.20.31.17","type":"Laptop"},`+
		`"src_endpoint":{"hostname":%q,"ip":"10.20.31.17","port":51544},`+
		`"dst_endpoint":{"domain":"cdn-sync.example.net","ip":"203.0.113.77","port":443}}`,
		time.Now().UnixMilli(), host, product, uid, host, host)
}

// target is an intake to load: Riposte's POST /v1/detections or the
// baseline's equivalent route.
type target struct {
	name    string
	path    string
	product string
	// runID extracts the workflow id of the started run from the answer.
	runID func(body []byte) (string, error)
}

func riposteTarget(product string) target {
	return target{name: "riposte", path: "/v1/detections", product: product, runID: func(b []byte) (string, error) {
		var r struct {
			Detections []struct {
				Matched []struct {
					WorkflowID   string `json:"workflow_id"`
					Deduplicated bool   `json:"deduplicated"`
				} `json:"matched"`
			} `json:"detections"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return "", err
		}
		if len(r.Detections) != 1 || len(r.Detections[0].Matched) != 1 || r.Detections[0].Matched[0].Deduplicated {
			return "", fmt.Errorf("expected one new run, got %s", b)
		}
		return r.Detections[0].Matched[0].WorkflowID, nil
	}}
}

func baselineTarget() target {
	return target{name: "baseline", path: baselinePath, product: referenceProduct, runID: func(b []byte) (string, error) {
		var r struct {
			Runs []baselineMatch `json:"runs"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return "", err
		}
		if len(r.Runs) != 1 || r.Runs[0].Deduplicated {
			return "", fmt.Errorf("expected one new run, got %s", b)
		}
		return r.Runs[0].WorkflowID, nil
	}}
}

// loader posts detections to the system's API.
type loader struct {
	sys    *system
	client *http.Client
	seq    atomic.Int64
	// throttled counts 429 answers (retried).
	throttled atomic.Int64
	runTag    string
}

func newLoader(sys *system) *loader {
	tr := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 90 * time.Second}
	return &loader{sys: sys, client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, runTag: fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)}
}

// post sends one request and returns the status and body. A 429 (the
// API's rate limit) is retried after the time it asks for.
func (l *loader) post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	return l.postPrefer(ctx, path, body, "")
}

// postPrefer is post with a Prefer header ("" = none).
func (l *loader) postPrefer(ctx context.Context, path string, body []byte, prefer string) (int, []byte, error) {
	for {
		code, b, retry, err := l.post1(ctx, path, body, prefer)
		if err != nil || code != http.StatusTooManyRequests {
			return code, b, err
		}
		l.throttled.Add(1)
		select {
		case <-ctx.Done():
			return code, b, ctx.Err()
		case <-time.After(retry):
		}
	}
}

func (l *loader) post1(ctx context.Context, path string, body []byte, prefer string) (int, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.sys.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+l.sys.token)
	req.Header.Set("Content-Type", "application/json")
	if prefer != "" {
		req.Header.Set("Prefer", prefer)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	retry := 100 * time.Millisecond
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
		retry = time.Duration(n) * time.Second
	}
	return resp.StatusCode, b, retry, err
}

// submit posts one fresh detection to t and returns the run's workflow id
// and the instant the request was sent (detection received).
func (l *loader) submit(ctx context.Context, t target, phase string) (string, time.Time, time.Duration, error) {
	n := int(l.seq.Add(1))
	uid := fmt.Sprintf("bench-%s-%s-%s-%d", l.runTag, phase, t.name, n)
	body := detectionBody(t.product, uid, n)
	sent := time.Now()
	code, b, err := l.post(ctx, t.path, body)
	answered := time.Since(sent)
	if err != nil {
		return "", sent, answered, err
	}
	if code != http.StatusAccepted {
		return "", sent, answered, fmt.Errorf("%s: HTTP %d: %s", t.path, code, b)
	}
	id, err := t.runID(b)
	return id, sent, answered, err
}

// sample is one measured run.
type sample struct {
	id        string // the run's workflow id
	sent      time.Time
	intake    time.Duration // POST answered
	contain   time.Duration // sent -> first containment activity started (0 = none)
	done      time.Duration // sent -> run completed
	doneAt    time.Time
	failed    bool
	timedOut  bool
	submitErr error
}

// phaseResult is one load phase's measurements.
type phaseResult struct {
	Name        string
	Target      string
	Concurrency int     // closed loop; 0 for open loop
	Rate        float64 // open loop: detections/s offered
	Window      time.Duration
	Started     int // runs started in the window
	Total       int // runs completed in the whole phase (warm-up and drain included)
	Completed   int // runs that completed inside the window
	Failed      int
	Errors      int
	FirstError  string
	Throughput  float64 // completed runs per second in the window
	Intake      percentiles
	Contain     percentiles
	Done        percentiles
}

// segment is one stretch of load: its samples and its measurement window.
type segment struct {
	samples  []sample
	from, to time.Time
}

// closedLoop keeps `conc` detections in flight: each virtual user posts
// one, waits for its run to complete, and posts the next. Only runs started
// after the warm-up count; throughput counts completions inside the
// measurement window.
func (l *loader) closedLoop(ctx context.Context, t target, phase string, conc int, warmup, window time.Duration) segment {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+window)
	var mu sync.Mutex
	var samples []sample
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(to) && ctx.Err() == nil {
				s := l.one(ctx, t, phase)
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
				if s.submitErr != nil {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	return segment{samples: samples, from: from, to: to}
}

// runOpenLoop offers detections at a fixed rate, whatever the system's
// answers, for warmup+window.
func (l *loader) runOpenLoop(ctx context.Context, t target, phase string, rate float64, warmup, window time.Duration) phaseResult {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+window)
	interval := time.Duration(float64(time.Second) / rate)
	var mu sync.Mutex
	var samples []sample
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if !at.Before(to) || ctx.Err() != nil {
			break
		}
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := l.one(ctx, t, phase)
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := summarize(segment{samples: samples, from: from, to: to})
	r.Name, r.Target, r.Rate = phase, t.name, rate
	return r
}

// runTimeout bounds the wait for one run.
const runTimeout = 3 * time.Minute

// one submits a detection and waits for its run.
func (l *loader) one(ctx context.Context, t target, phase string) sample {
	id, sent, intake, err := l.submit(ctx, t, phase)
	s := sample{id: id, sent: sent, intake: intake, submitErr: err}
	if err != nil {
		return s
	}
	wctx, cancel := context.WithTimeout(ctx, runTimeout)
	rt, ok := l.sys.probe.wait(wctx, id)
	cancel()
	l.sys.probe.forget(id)
	if !ok {
		s.timedOut = true
		return s
	}
	if !rt.containAt.IsZero() {
		s.contain = rt.containAt.Sub(sent)
	}
	s.done, s.doneAt, s.failed = rt.doneAt.Sub(sent), rt.doneAt, rt.failed
	return s
}

// completedIDs lists the workflow ids of the runs that completed without
// failing, in completion order.
func completedIDs(segs ...segment) []string {
	var all []sample
	for _, seg := range segs {
		for _, s := range seg.samples {
			if s.submitErr == nil && !s.timedOut && !s.failed && s.id != "" {
				all = append(all, s)
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].doneAt.Before(all[j].doneAt) })
	ids := make([]string, len(all))
	for i, s := range all {
		ids[i] = s.id
	}
	return ids
}

// summarize pools segments: counts and latencies over every segment's
// window, throughput over their summed length.
func summarize(segs ...segment) phaseResult {
	var r phaseResult
	var intake, contain, done []time.Duration
	for _, seg := range segs {
		r.Window += seg.to.Sub(seg.from)
		summarizeInto(&r, seg, &intake, &contain, &done)
	}
	if r.Window > 0 {
		r.Throughput = float64(r.Completed) / r.Window.Seconds()
	}
	r.Intake, r.Contain, r.Done = pct(intake), pct(contain), pct(done)
	return r
}

func summarizeInto(r *phaseResult, seg segment, intake, contain, done *[]time.Duration) {
	from, to := seg.from, seg.to
	for _, s := range seg.samples {
		if s.submitErr != nil {
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = s.submitErr.Error()
			}
			continue
		}
		if s.timedOut {
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = "a run did not complete within " + runTimeout.String()
			}
			continue
		}
		r.Total++
		if !s.doneAt.Before(from) && s.doneAt.Before(to) {
			r.Completed++
		}
		if s.sent.Before(from) || !s.sent.Before(to) {
			continue
		}
		r.Started++
		if s.failed {
			r.Failed++
		}
		*intake = append(*intake, s.intake)
		if s.contain > 0 {
			*contain = append(*contain, s.contain)
		}
		*done = append(*done, s.done)
	}
}

// percentiles of a latency distribution.
type percentiles struct {
	N                  int
	P50, P95, P99, Max time.Duration
}

func pct(d []time.Duration) percentiles {
	if len(d) == 0 {
		return percentiles{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	// Nearest rank: the smallest value with at least q of the samples at
	// or below it.
	at := func(q float64) time.Duration {
		i := int(math.Ceil(q*float64(len(d)))) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return percentiles{N: len(d), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: d[len(d)-1]}
}
