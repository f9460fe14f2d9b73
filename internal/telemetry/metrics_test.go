package telemetry

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// scrape fetches h like Prometheus does and parses the text format.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("content type %q", ct)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parsing scrape: %v\n%s", err, body)
	}
	return fams
}

// labelsOf renders a metric's labels as k=v,k=v (sorted; empty values kept).
func labelsOf(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// series returns the family's metrics by label string.
func series(t *testing.T, fams map[string]*dto.MetricFamily, name string) map[string]*dto.Metric {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		names := make([]string, 0, len(fams))
		for n := range fams {
			names = append(names, n)
		}
		sort.Strings(names)
		t.Fatalf("no metric %s in scrape; have %s", name, strings.Join(names, " "))
	}
	out := map[string]*dto.Metric{}
	for _, m := range f.GetMetric() {
		out[labelsOf(m)] = m
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m == nil:
		return math.NaN()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return math.NaN()
}

func wantValue(t *testing.T, fams map[string]*dto.MetricFamily, name, labels string, want float64) {
	t.Helper()
	s := series(t, fams, name)
	m, ok := s[labels]
	if !ok {
		keys := make([]string, 0, len(s))
		for k := range s {
			keys = append(keys, "{"+k+"}")
		}
		sort.Strings(keys)
		t.Errorf("%s{%s}: no such series; have %s", name, labels, strings.Join(keys, " "))
		return
	}
	if got := value(m); got != want {
		t.Errorf("%s{%s} = %v, want %v", name, labels, got, want)
	}
}

func wantHistogram(t *testing.T, fams map[string]*dto.MetricFamily, name, labels string, count uint64, sum float64) *dto.Histogram {
	t.Helper()
	m, ok := series(t, fams, name)[labels]
	if !ok || m.Histogram == nil {
		t.Errorf("%s{%s}: no histogram series", name, labels)
		return nil
	}
	h := m.GetHistogram()
	if h.GetSampleCount() != count || math.Abs(h.GetSampleSum()-sum) > 1e-9 {
		t.Errorf("%s{%s}: count %d sum %v, want %d %v", name, labels, h.GetSampleCount(), h.GetSampleSum(), count, sum)
	}
	return h
}

// bucketCount is the cumulative count of the bucket with upper bound le.
func bucketCount(h *dto.Histogram, le float64) uint64 {
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	return math.MaxUint64
}

func TestMetricsMethodsScrape(t *testing.T) {
	m := NewMetrics()

	// Before anything happens: the known rejection reasons are exported at
	// 0, the pending gauge is not (nothing feeds it yet).
	fams := scrape(t, m.Handler())
	for _, r := range []string{"unauthorized", "too_large", "malformed", "invalid", "timeout"} {
		wantValue(t, fams, "riposte_detections_rejected_total", "reason="+r, 0)
	}
	if _, ok := fams["riposte_approvals_pending"]; ok {
		t.Error("riposte_approvals_pending exported before anything set it")
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("Go runtime collector missing")
	}

	m.DetectionReceived(3)
	m.DetectionReceived(0)
	m.DetectionReceived(-2)
	m.DetectionDeduplicated()
	m.DetectionDeduplicated()
	m.DetectionRejected(ReasonUnauthorized)
	m.DetectionRejected(ReasonTooLarge)
	m.DetectionRejected(ReasonMalformed)
	m.DetectionRejected(ReasonInvalid)
	m.DetectionRejected(ReasonInvalid)
	m.DetectionRejected("something <weird>")
	m.RunStarted("contain-credential-theft", "live")
	m.RunStarted("contain-credential-theft", "live")
	m.RunStarted("contain-credential-theft", "dry_run")
	m.RunFinished("contain-credential-theft", playbook.StatusSucceeded)
	m.RunFinished("triage", playbook.StatusFailed)
	m.StepFinished("core.noop", playbook.StatusSucceeded, 20*time.Millisecond)
	m.StepFinished("core.noop", playbook.StatusSucceeded, 2*time.Second)
	m.StepFinished("crowdstrike.contain_host", playbook.StatusFailed, 300*time.Millisecond)
	m.SetApprovalsPending(4)
	m.ApprovalDecided("approved", 90*time.Second)
	m.ApprovalDecided("timed_out", 30*time.Minute)
	m.ContainmentAction("crowdstrike.contain_host", playbook.StatusSucceeded)
	m.ContainmentAction("crowdstrike.contain_host", OutcomeSimulated)
	m.GuardrailDecision("", "allow")
	m.GuardrailDecision("protected_asset", "gate")
	m.GuardrailDecision("protected_asset", "gate")
	m.APIRequest("POST /v1/detections", 202)
	m.APIRequest("POST /v1/detections", 202)
	m.APIRequest("GET /healthz", 200)

	fams = scrape(t, m.Handler())
	wantValue(t, fams, "riposte_detections_received_total", "", 3)
	wantValue(t, fams, "riposte_detections_deduplicated_total", "", 2)
	wantValue(t, fams, "riposte_detections_rejected_total", "reason=unauthorized", 1)
	wantValue(t, fams, "riposte_detections_rejected_total", "reason=too_large", 1)
	wantValue(t, fams, "riposte_detections_rejected_total", "reason=malformed", 1)
	wantValue(t, fams, "riposte_detections_rejected_total", "reason=invalid", 2)
	wantValue(t, fams, "riposte_detections_rejected_total", "reason=other", 1)
	wantValue(t, fams, "riposte_runs_started_total", "mode=live,playbook=contain-credential-theft", 2)
	wantValue(t, fams, "riposte_runs_started_total", "mode=dry_run,playbook=contain-credential-theft", 1)
	wantValue(t, fams, "riposte_runs_finished_total", "playbook=contain-credential-theft,status=succeeded", 1)
	wantValue(t, fams, "riposte_runs_finished_total", "playbook=triage,status=failed", 1)
	h := wantHistogram(t, fams, "riposte_step_duration_seconds", "action=core.noop,status=succeeded", 2, 2.02)
	if h != nil {
		if got := bucketCount(h, 0.025); got != 1 {
			t.Errorf("le=0.025 bucket = %d, want 1", got)
		}
		if got := bucketCount(h, 2.5); got != 2 {
			t.Errorf("le=2.5 bucket = %d, want 2", got)
		}
	}
	wantHistogram(t, fams, "riposte_step_duration_seconds", "action=crowdstrike.contain_host,status=failed", 1, 0.3)
	wantValue(t, fams, "riposte_approvals_pending", "", 4)
	wantHistogram(t, fams, "riposte_approval_decision_seconds", "decision=approved", 1, 90)
	wantHistogram(t, fams, "riposte_approval_decision_seconds", "decision=timed_out", 1, 1800)
	wantValue(t, fams, "riposte_containment_actions_total", "action=crowdstrike.contain_host,outcome=succeeded", 1)
	wantValue(t, fams, "riposte_containment_actions_total", "action=crowdstrike.contain_host,outcome=simulated", 1)
	wantValue(t, fams, "riposte_guardrail_decisions_total", "decision=allow,rule=none", 1)
	wantValue(t, fams, "riposte_guardrail_decisions_total", "decision=gate,rule=protected_asset", 2)
	wantValue(t, fams, "riposte_api_requests_total", "code=202,route=POST /v1/detections", 2)
	wantValue(t, fams, "riposte_api_requests_total", "code=200,route=GET /healthz", 1)

	// Every Riposte metric is prefixed and has help text.
	for name, f := range fams {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		if !strings.HasPrefix(name, "riposte_") {
			t.Errorf("metric %s is not prefixed riposte_", name)
		}
		if f.GetHelp() == "" {
			t.Errorf("metric %s has no help", name)
		}
	}
}

func TestMetricsRegistriesAreIndependent(t *testing.T) {
	a, b := NewMetrics(MetricsOptions{NoRuntimeCollectors: true}), NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	a.RunStarted("x", "live")
	fams := scrape(t, b.Handler())
	if f, ok := fams["riposte_runs_started_total"]; ok && len(f.GetMetric()) > 0 {
		t.Errorf("second registry sees the first one's series: %v", f)
	}
	if _, ok := fams["go_goroutines"]; ok {
		t.Error("runtime collectors registered despite NoRuntimeCollectors")
	}
}

func TestNilMetricsIsNoop(t *testing.T) {
	var m *Metrics
	m.DetectionReceived(1)
	m.DetectionDeduplicated()
	m.DetectionRejected(ReasonInvalid)
	m.RunStarted("a", "live")
	m.RunFinished("a", "succeeded")
	m.StepFinished("a", "succeeded", time.Second)
	m.SetApprovalsPending(1)
	m.ApprovalDecided("approved", time.Second)
	m.ContainmentAction("a", "succeeded")
	m.GuardrailDecision("r", "allow")
	m.APIRequest("GET /", 200)
	m.WatchApprovalsPending(nil, 0)
	if m.TemporalHandler() != nil || m.Registry() != nil {
		t.Error("nil Metrics returned a handler or registry")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 404 {
		t.Errorf("nil Metrics handler: %d", rec.Code)
	}
}

// TestBuildInfo: riposte_build_info{process,version,go_version} = 1 from a
// process's registry (the alerts' absent() reads it, whatever the job
// name), and nothing without a process (tests, riposte bench).
func TestBuildInfo(t *testing.T) {
	m := NewMetrics(MetricsOptions{NoRuntimeCollectors: true, Process: ProcessWorker, Version: "v1.2.3"})
	wantValue(t, scrape(t, m.Handler()), MetricBuildInfo, "go_version="+runtime.Version()+",process=worker,version=v1.2.3", 1)
	m = NewMetrics(MetricsOptions{NoRuntimeCollectors: true, Process: ProcessServe})
	wantValue(t, scrape(t, m.Handler()), MetricBuildInfo, "go_version="+runtime.Version()+",process=serve,version=unknown", 1)
	if _, ok := scrape(t, NewMetrics(MetricsOptions{NoRuntimeCollectors: true}).Handler())[MetricBuildInfo]; ok {
		t.Errorf("%s exported without a process", MetricBuildInfo)
	}
}
