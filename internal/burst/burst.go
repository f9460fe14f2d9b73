// Package burst sends a burst of distinct detections through Riposte's HTTP
// API as fast as it takes them and watches every run until its contain step
// has either run or stopped at a human gate: what one bad hour of an AI
// detector looks like. The burst tests (embedded server and cluster) and
// the burst phase of `riposte bench` share it.
//
// The detections match a one-step playbook (Playbook) that contains the
// detection's host with approval: auto, so every run's outcome is decided
// by the site guardrails alone: contained (a budget slot was granted) or
// gated with the guardrail's rule (budget, guardrails_unavailable, …).
package burst

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// Playbook is the playbook the burst's detections match (the file content
// to load into the system under test).
const Playbook = `apiVersion: riposte/v1
name: burst-contain
version: 1
description: Burst test and benchmark - contain the host of a credential-dumping detection automatically, within the site's guardrails.
owner: riposte
trigger:
  when: detection.metadata.product.name == "Riposte Burst"
steps:
  - id: contain
    action: crowdstrike.contain_host
    with: {hostname: "${{ detection.device.hostname }}"}
    approval: auto
`

// PlaybookName is the name in Playbook; Step its contain step.
const (
	PlaybookName = "burst-contain"
	Step         = "contain"
)

// Detection is detection i of a burst: an OCSF Detection Finding of
// credential dumping (LSASS memory access) on its own host.
func Detection(prefix string, i int) string {
	return fmt.Sprintf(`{"class_uid":2004,"category_uid":2,"activity_id":1,"type_uid":200401,"time":1763458937000,
"severity_id":4,"confidence_score":92,"status_id":1,
"finding_info":{"uid":%q,"title":"Credential dumping: LSASS memory read by an unsigned process","types":["Credential Access"],
"attacks":[{"technique":{"uid":"T1003.001","name":"LSASS Memory"},"tactic":{"uid":"TA0006","name":"Credential Access"}}]},
"metadata":{"version":"1.3.0","product":{"name":"Riposte Burst","vendor_name":"Riposte"}},
"device":{"hostname":%q,"type_id":2}}`, fmt.Sprintf("%s-%04d", prefix, i), Host(prefix, i))
}

// Host is the host of detection i (the lab must know it: lab.AddHosts).
func Host(prefix string, i int) string { return fmt.Sprintf("%s-ws-%04d", prefix, i) }

// Hosts lists the n hosts of a burst.
func Hosts(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = Host(prefix, i)
	}
	return out
}

// Target is the system under test.
type Target struct {
	API   string // base URL of the HTTP API
	Token string
	// Client defaults to one with a connection pool sized for Posters.
	Client *http.Client
}

// Options shape a burst.
type Options struct {
	N          int    // detections (at most 1000: runs are watched through one GET /v1/runs page)
	Prefix     string // detection uid and host prefix; unique per burst on one system (default "burst")
	Posters    int    // concurrent POSTs (default 16)
	PerRequest int    // detections per POST (default 5)
	// Timeout bounds the whole burst (default 10 minutes).
	Timeout time.Duration
	// Poll is the interval of the run listing (default 250ms).
	Poll time.Duration
	// Logf gets progress (nil = none).
	Logf func(string, ...any)
}

func (o *Options) defaults() error {
	if o.N < 1 || o.N > 1000 {
		return fmt.Errorf("burst size must be 1 to 1000, got %d", o.N)
	}
	if o.Prefix == "" {
		o.Prefix = "burst"
	}
	if o.Posters <= 0 {
		o.Posters = 16
	}
	if o.PerRequest <= 0 {
		o.PerRequest = 5
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return nil
}

// Run is one run of the burst, as watched.
type Run struct {
	WorkflowID string `json:"workflow_id"`
	Host       string `json:"host"`
	// Status is the contain step's status: succeeded, waiting_approval
	// (gated), failed, timed_out, …
	Status string `json:"status"`
	// Rule is the guardrail rule recorded on the step ("" = none).
	Rule string `json:"rule,omitempty"`
	// Decided is when the run was first seen contained or gated, from the
	// start of the burst (at Poll granularity).
	Decided time.Duration `json:"decided"`
}

// Result is what a burst measured.
type Result struct {
	N            int           `json:"n"`
	Started      int           `json:"started"`
	Deduplicated int           `json:"deduplicated"`
	Posted       time.Duration `json:"posted"`      // until the API had taken every detection
	AllDecided   time.Duration `json:"all_decided"` // until every run was contained or gated
	Contained    int           `json:"contained"`   // contain step succeeded
	// Gated counts the runs stopped at a human gate, by guardrail rule
	// ("" = the playbook's own gate).
	Gated map[string]int `json:"gated"`
	// Other counts the runs whose contain step ended otherwise, by status.
	Other map[string]int `json:"other"`
	Runs  []Run          `json:"runs"`
}

// GatedTotal is the number of gated runs.
func (r *Result) GatedTotal() int {
	n := 0
	for _, v := range r.Gated {
		n += v
	}
	return n
}

// String is a one-line summary.
func (r *Result) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.Gated)) {
		name := k
		if name == "" {
			name = "playbook"
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, r.Gated[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(r.Other)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Other[k]))
	}
	return fmt.Sprintf("%d detections posted in %s, all decided in %s: %d contained, gated: [%s]",
		r.N, r.Posted.Round(time.Millisecond), r.AllDecided.Round(time.Millisecond), r.Contained, strings.Join(parts, ", "))
}

// Burst posts o.N detections and waits until every run is contained or
// gated. The error is about the burst itself (API refused, timeout), never
// about the outcomes: the caller judges those.
func Burst(ctx context.Context, t Target, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if t.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = o.Posters + 4
		t.Client = &http.Client{Transport: tr}
	}
	res := &Result{N: o.N, Gated: map[string]int{}, Other: map[string]int{}}
	begin := time.Now()
	ids, err := post(ctx, t, o, res)
	if err != nil {
		return res, err
	}
	res.Posted = time.Since(begin)
	o.Logf("burst: %d detections taken in %s (%d started, %d deduplicated)", o.N, res.Posted.Round(time.Millisecond), res.Started, res.Deduplicated)
	decided, err := watch(ctx, t, o, ids, begin)
	if err != nil {
		return res, err
	}
	for _, d := range decided {
		res.AllDecided = max(res.AllDecided, d)
	}
	o.Logf("burst: every run contained or gated after %s", res.AllDecided.Round(time.Millisecond))
	// Read each run's step once, now that nothing moves.
	res.Runs = make([]Run, o.N)
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			run := Run{WorkflowID: id, Host: Host(o.Prefix, i), Decided: decided[id]}
			d, err := getRun(ctx, t, id)
			if err == nil {
				run.Status = "missing"
				for _, s := range d.Steps {
					if s.ID == Step {
						run.Status = s.Status
						if s.Guardrail != nil {
							run.Rule = s.Guardrail.Rule
						}
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			res.Runs[i] = run
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	for _, r := range res.Runs {
		switch r.Status {
		case playbook.StatusSucceeded:
			res.Contained++
		case playbook.StatusWaiting:
			res.Gated[r.Rule]++
		default:
			res.Other[r.Status]++
		}
	}
	return res, nil
}

// post sends the detections from o.Posters goroutines, o.PerRequest per
// request, retrying what the API asks to retry (429, 503). It returns the
// workflow id of every detection, in order.
func post(ctx context.Context, t Target, o Options, res *Result) ([]string, error) {
	ids := make([]string, o.N)
	type batch struct{ from, to int }
	work := make(chan batch)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range o.Posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				var body strings.Builder
				for i := b.from; i < b.to; i++ {
					body.WriteString(Detection(o.Prefix, i))
					body.WriteByte('\n')
				}
				r, err := postOne(ctx, t, body.String())
				mu.Lock()
				if err == nil && len(r.Detections) != b.to-b.from {
					err = fmt.Errorf("POST /v1/detections answered %d outcomes for %d detections", len(r.Detections), b.to-b.from)
				}
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
				} else {
					res.Started += r.Started
					res.Deduplicated += r.Deduplicated
					for k, d := range r.Detections {
						if len(d.Matched) != 1 {
							if firstErr == nil {
								firstErr = fmt.Errorf("detection %s matched %d playbooks, want 1 (%s): is the burst playbook loaded?", d.DetectionID, len(d.Matched), PlaybookName)
							}
							continue
						}
						ids[b.from+k] = d.Matched[0].WorkflowID
					}
				}
				mu.Unlock()
			}
		}()
	}
	for from := 0; from < o.N && ctx.Err() == nil; from += o.PerRequest {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		select {
		case work <- batch{from, min(from+o.PerRequest, o.N)}:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("posting the burst: %w", ctx.Err())
	}
	return ids, firstErr
}

func postOne(ctx context.Context, t Target, body string) (*api.DetectionsResponse, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(t.API, "/")+"/v1/detections", strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if t.Token != "" {
			req.Header.Set("Authorization", "Bearer "+t.Token)
		}
		resp, err := t.Client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("POST /v1/detections: %w", err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted:
			var r api.DetectionsResponse
			if err := json.Unmarshal(b, &r); err != nil {
				return nil, fmt.Errorf("decoding the intake answer: %w", err)
			}
			return &r, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			// Resending is safe: starts are deduplicated.
			wait := time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("POST /v1/detections: %d and %w", resp.StatusCode, ctx.Err())
			case <-time.After(wait):
			}
		default:
			return nil, fmt.Errorf("POST /v1/detections: %d %s", resp.StatusCode, bytes.TrimSpace(b))
		}
	}
}

// watch lists the burst playbook's runs until every id is decided: the run
// closed (its one step ran) or waits at a gate. It returns when each was
// first seen so.
func watch(ctx context.Context, t Target, o Options, ids []string, begin time.Time) (map[string]time.Duration, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	decided := make(map[string]time.Duration, len(ids))
	last := time.Now()
	for {
		var page struct {
			Runs []api.RunSummary `json:"runs"`
		}
		err := getJSON(ctx, t, "/v1/runs?limit=1000&playbook="+url.QueryEscape(PlaybookName), &page)
		if err != nil && ctx.Err() == nil {
			// A listing can fail under load; the next one counts.
			o.Logf("burst: listing runs: %v", err)
		}
		now := time.Since(begin)
		for _, s := range page.Runs {
			if !want[s.WorkflowID] {
				continue
			}
			if _, ok := decided[s.WorkflowID]; ok {
				continue
			}
			if s.ClosedAt != nil || s.Status == workflows.RunWaiting || s.ApprovalState == workflows.GatePending || s.ApprovalState == workflows.GateEscalated {
				decided[s.WorkflowID] = now
			}
		}
		if len(decided) == len(want) {
			return decided, nil
		}
		if time.Since(last) > 5*time.Second {
			o.Logf("burst: %d of %d runs decided after %s", len(decided), len(want), now.Round(time.Second))
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return decided, fmt.Errorf("only %d of %d runs were contained or gated before the burst timed out: %w", len(decided), len(want), ctx.Err())
		case <-time.After(o.Poll):
		}
	}
}

func getRun(ctx context.Context, t Target, id string) (*api.RunDetail, error) {
	var d api.RunDetail
	var err error
	for range 5 {
		d = api.RunDetail{}
		err = getJSON(ctx, t, "/v1/runs/"+url.PathEscape(id), &d)
		if err == nil && (len(d.Steps) > 0 || !strings.HasPrefix(d.Error, "step states unavailable")) {
			return &d, nil
		}
		if err == nil {
			// A running run's steps come from a query, which a busy
			// worker may not answer in time: ask again.
			err = errors.New(d.Error)
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(500 * time.Millisecond):
		}
	}
	return nil, err
}

func getJSON(ctx context.Context, t Target, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(t.API, "/")+path, nil)
	if err != nil {
		return err
	}
	if t.Token != "" {
		req.Header.Set("Authorization", "Bearer "+t.Token)
	}
	resp, err := t.Client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// Verify is the burst test's verdict, shared by the embedded-server and
// cluster tests. budget is the budget of crowdstrike.contain_host in the
// policy under test (>= the burst size: "large"). calls are the lab's
// recorded CrowdStrike calls. It returns every problem found:
//   - no run gated for guardrails_unavailable, none in another state;
//   - budget large: every run contained; otherwise exactly budget runs
//     contained and the rest gated with reason budget;
//   - on the lab, exactly one containment per contained run's host and
//     none of a gated run's host (exactly once).
func Verify(res *Result, budget int, calls []lab.Call) []string {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if n := res.Gated["guardrails_unavailable"]; n > 0 {
		add("%d of %d runs gated for guardrails_unavailable, want 0", n, res.N)
	}
	for status, n := range res.Other {
		add("%d runs ended their contain step %s", n, status)
	}
	wantContained := min(budget, res.N)
	if res.Contained != wantContained {
		add("%d runs contained automatically, want exactly %d", res.Contained, wantContained)
	}
	if g := res.Gated["budget"]; g != res.N-wantContained {
		add("%d runs gated with reason budget, want %d", g, res.N-wantContained)
	}
	for rule, n := range res.Gated {
		if rule != "budget" && rule != "guardrails_unavailable" {
			add("%d runs gated for %q", n, rule)
		}
	}
	contains := map[string]int{}
	for _, c := range calls {
		if c.Vendor == lab.CrowdStrike && c.Op == "contain" && c.Changed {
			contains[strings.ToLower(c.Target)]++
		}
	}
	total := 0
	for _, r := range res.Runs {
		n := contains[strings.ToLower(r.Host)]
		total += n
		switch {
		case r.Status == playbook.StatusSucceeded && n != 1:
			add("host %s (run %s) contained %d times on the lab, want exactly once", r.Host, r.WorkflowID, n)
		case r.Status != playbook.StatusSucceeded && n != 0:
			add("host %s (run %s, step %s) contained %d times on the lab, want none", r.Host, r.WorkflowID, r.Status, n)
		}
		if len(probs) > 20 {
			add("…")
			return probs
		}
	}
	if total != res.Contained {
		add("the lab contained %d burst hosts, runs report %d", total, res.Contained)
	}
	return probs
}

// Check is the burst test body, shared by the embedded-server and cluster
// tests: it posts the burst, waits for every run, and reports every
// problem Verify finds on t. calls returns the lab's recorded calls.
func Check(t testing.TB, target Target, o Options, budget int, calls func() []lab.Call) *Result {
	t.Helper()
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	res, err := Burst(context.Background(), target, o)
	if err != nil {
		t.Fatalf("burst: %v", err)
	}
	t.Log(res.String())
	for _, p := range Verify(res, budget, calls()) {
		t.Error(p)
	}
	return res
}

// GuardUpdaters lists the client identities whose Updates a budget's guard
// accepted, over all its runs (continue-as-new included): which workers
// reserved.
func GuardUpdaters(ctx context.Context, c client.Client, budget string) (map[string]int, error) {
	id := workflows.BudgetGuardID(budget)
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, e := range resp.Executions {
		it := c.GetWorkflowHistory(ctx, id, e.Execution.RunId, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return nil, err
			}
			if a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil {
				out[a.GetAcceptedRequest().GetMeta().GetIdentity()]++
			}
		}
	}
	return out, nil
}
