package telemetry

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// CountFunc counts something on demand (see WatchApprovalsPending).
type CountFunc func(ctx context.Context) (int64, error)

// CountWorkflows returns a CountFunc counting the workflows of a namespace
// that match a visibility query.
func CountWorkflows(c client.Client, namespace, query string) CountFunc {
	return func(ctx context.Context) (int64, error) {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query})
		if err != nil {
			return 0, err
		}
		return resp.GetCount(), nil
	}
}

// WatchApprovalsPending makes riposte_approvals_pending ask count when
// scraped, at most once per ttl (0 = 15s), waiting at most 5 seconds; while
// count fails the gauge is not exported at all (a last value kept would
// show stale approvals as current for as long as visibility is down;
// alert with absent(riposte_approvals_pending)). The value is namespace-wide: when
// several serve processes report it, aggregate with max, not sum. Call it in
// one kind of process (riposte serve), typically with
// CountWorkflows(c, namespace, workflows.PendingApprovalsQuery()).
func (m *Metrics) WatchApprovalsPending(count CountFunc, ttl time.Duration) {
	if m == nil {
		return
	}
	if ttl <= 0 {
		ttl = 15 * time.Second
	}
	m.pending.mu.Lock()
	m.pending.count, m.pending.ttl, m.pending.active = count, ttl, true
	m.pending.mu.Unlock()
}

// pendingCollector exposes the approvals gauge once something feeds it,
// refreshing it on scrape when a CountFunc is set.
type pendingCollector struct {
	gauge prometheus.Gauge

	mu     sync.Mutex
	active bool
	count  CountFunc
	ttl    time.Duration
	last   time.Time
	// failed: the last count failed, so the gauge's value is not known.
	failed bool
}

func (p *pendingCollector) Describe(ch chan<- *prometheus.Desc) { p.gauge.Describe(ch) }

func (p *pendingCollector) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.active {
		return
	}
	if p.count != nil && time.Since(p.last) >= p.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n, err := p.count(ctx)
		cancel()
		p.failed = err != nil
		if err == nil {
			p.gauge.Set(float64(n))
			p.last = time.Now()
		}
	}
	if p.failed {
		return
	}
	p.gauge.Collect(ch)
}

func (p *pendingCollector) set(v float64) {
	p.mu.Lock()
	p.active = true
	p.mu.Unlock()
	p.gauge.Set(v)
}
