package telemetry

import (
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
)

// Names of Riposte's metrics. Workflow code emits some of them through
// workflow.GetMetricsHandler(ctx); the SDK adapter routes these names to the
// series below.
const (
	MetricDetectionsReceived     = "riposte_detections_received_total"
	MetricDetectionsDeduplicated = "riposte_detections_deduplicated_total"
	MetricDetectionsRejected     = "riposte_detections_rejected_total"
	MetricRunsStarted            = "riposte_runs_started_total"
	MetricRunsFinished           = "riposte_runs_finished_total"
	MetricWithdrawalsRecorded    = "riposte_withdrawals_recorded_total"
	MetricStepDuration           = "riposte_step_duration_seconds"
	MetricApprovalsPending       = "riposte_approvals_pending"
	MetricApprovalDecision       = "riposte_approval_decision_seconds"
	MetricContainmentActions     = "riposte_containment_actions_total"
	MetricApprovalRequests       = "riposte_approval_requests_total"
	MetricGuardrailDecisions     = "riposte_guardrail_decisions_total"
	MetricAPIRequests            = "riposte_api_requests_total"
	MetricSlackSocketMode        = "riposte_slack_socket_mode_connected"
	MetricBuildInfo              = "riposte_build_info"
)

// Processes named by riposte_build_info's process label.
const (
	ProcessWorker = "worker" // riposte worker
	ProcessServe  = "serve"  // riposte serve
	ProcessDev    = "dev"    // riposte dev (worker and API in one process)
)

// Reasons a detection request is rejected (riposte_detections_rejected_total).
const (
	ReasonUnauthorized = "unauthorized" // missing or wrong API token
	ReasonTooLarge     = "too_large"    // body over the limit (413)
	ReasonMalformed    = "malformed"    // not JSON / not detections (400)
	ReasonInvalid      = "invalid"      // JSON, but fails the detection contract (400)
	ReasonTimeout      = "timeout"      // the body did not arrive in time (408): resent, not wrong
	reasonOther        = "other"
)

// Results of an approval request's post (riposte_approval_requests_total).
const (
	ApprovalPosted        = "posted"
	ApprovalNotConfigured = "not_configured"
	ApprovalFailed        = "failed"
)

// Action outcomes (statuses are playbook.Status*).
const (
	// OutcomeSimulated is a contain action that ran in a dry run or shadow
	// run: nothing was changed.
	OutcomeSimulated = "simulated"
)

// Buckets for step durations and approval waits: from a fast lookup to a
// gate that waited a day.
var (
	stepBuckets     = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	approvalBuckets = []float64{5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400}
)

// Metrics holds Riposte's Prometheus metrics on a registry of its own.
// Every method is a no-op on a nil *Metrics.
type Metrics struct {
	reg *prometheus.Registry
	sdk *sdkCollector

	detectionsReceived     prometheus.Counter
	detectionsDeduplicated prometheus.Counter
	detectionsRejected     *prometheus.CounterVec
	runsStarted            *prometheus.CounterVec
	runsFinished           *prometheus.CounterVec
	withdrawalsRecorded    *prometheus.CounterVec
	stepDuration           *prometheus.HistogramVec
	pending                *pendingCollector
	approvalDecision       *prometheus.HistogramVec
	containment            *prometheus.CounterVec
	approvalRequests       *prometheus.CounterVec
	guardrail              *prometheus.CounterVec
	apiRequests            *prometheus.CounterVec

	// owned maps the names above to their collectors and label names, for
	// the SDK adapter.
	owned map[string]ownedMetric
}

// ownedMetric is one of Riposte's metrics as the SDK adapter sees it.
type ownedMetric struct {
	labels  []string
	counter func(labels []string, n float64)
	gauge   func(labels []string, v float64)
	observe func(labels []string, v float64)
}

// MetricsOptions configures NewMetrics.
type MetricsOptions struct {
	// NoRuntimeCollectors leaves out the go_* and process_* collectors
	// (tests that compare whole outputs).
	NoRuntimeCollectors bool
	// Process, when set, exports riposte_build_info{process,version,
	// go_version} = 1: ProcessWorker, ProcessServe or ProcessDev. The
	// "no worker / no API at all" alerts read it (absent() of a process),
	// whatever job name the scrape configuration gives the targets.
	// Empty leaves the series out (tests, riposte bench).
	Process string
	// Version is the build's version as `riposte version` prints it
	// (exported as "unknown" when empty).
	Version string
}

// NewMetrics registers Riposte's metrics, the SDK adapter's collector and
// (unless disabled) the Go runtime and process collectors on a new registry.
func NewMetrics(opts ...MetricsOptions) *Metrics {
	var o MetricsOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.detectionsReceived = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricDetectionsReceived,
		Help: "Detections decoded and validated by POST /v1/detections.",
	})
	m.detectionsDeduplicated = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricDetectionsDeduplicated,
		Help: "Received detections that started nothing new: every matching run existed already.",
	})
	m.detectionsRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricDetectionsRejected,
		Help: "Detection requests refused, by reason (unauthorized, too_large, malformed, invalid, timeout).",
	}, []string{"reason"})
	m.runsStarted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricRunsStarted,
		Help: "Playbook runs started, by playbook and mode (live, shadow, dry_run).",
	}, []string{"playbook", "mode"})
	m.runsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricRunsFinished,
		Help: "Playbook runs ended, by playbook and status (succeeded, failed, canceled; terminated, timed_out: counted from visibility, namespace-wide).",
	}, []string{"playbook", "status"})
	m.withdrawalsRecorded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricWithdrawalsRecorded,
		Help: "Findings withdrawn before any record of them started a run, recorded by a run that runs no step (not counted as runs started or finished), by playbook.",
	}, []string{"playbook"})
	m.stepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricStepDuration,
		Help:    "Duration of each action attempt, by action and status (succeeded, failed, canceled, timed_out).",
		Buckets: stepBuckets,
	}, []string{"action", "status"})
	m.pending = &pendingCollector{gauge: prometheus.NewGauge(prometheus.GaugeOpts{
		Name: MetricApprovalsPending,
		Help: "Runs waiting for a human decision on an approval gate (namespace-wide: aggregate with max).",
	})}
	m.approvalDecision = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricApprovalDecision,
		Help:    "Time from an approval gate opening to its decision, by decision (approved, denied, timed_out, escalated).",
		Buckets: approvalBuckets,
	}, []string{"decision"})
	m.containment = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricContainmentActions,
		Help: "Attempts of contain-risk actions, by action and outcome (succeeded, failed, simulated, canceled, timed_out).",
	}, []string{"action", "outcome"})
	m.approvalRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricApprovalRequests,
		Help: "Attempts to post an approval request, by result (posted; not_configured: no Slack, decided through the API or CLI; failed: Slack refused it or could not be reached, so approvers may not be asked).",
	}, []string{"result"})
	m.guardrail = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricGuardrailDecisions,
		Help: "Site policy decisions on contain steps, by rule and decision (allow, gate, refuse).",
	}, []string{"rule", "decision"})
	m.apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricAPIRequests,
		Help: "HTTP API requests, by route (ServeMux pattern) and status code.",
	}, []string{"route", "code"})
	m.sdk = newSDKCollector()

	m.reg.MustRegister(m.detectionsReceived, m.detectionsDeduplicated, m.detectionsRejected,
		m.runsStarted, m.runsFinished, m.withdrawalsRecorded, m.stepDuration, m.pending, m.approvalDecision,
		m.containment, m.approvalRequests, m.guardrail, m.apiRequests, m.sdk)
	if o.Process != "" {
		m.reg.MustRegister(newBuildInfo(o.Process, o.Version))
	}
	if !o.NoRuntimeCollectors {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, r := range []string{ApprovalPosted, ApprovalNotConfigured, ApprovalFailed} {
		m.approvalRequests.WithLabelValues(r)
	}
	// Known reasons start at 0 so that rate() and alerts see them at once.
	for _, r := range []string{ReasonUnauthorized, ReasonTooLarge, ReasonMalformed, ReasonInvalid, ReasonTimeout} {
		m.detectionsRejected.WithLabelValues(r)
	}

	counterVec := func(v *prometheus.CounterVec) func([]string, float64) {
		return func(l []string, n float64) {
			if n >= 0 {
				v.WithLabelValues(l...).Add(n)
			}
		}
	}
	histVec := func(v *prometheus.HistogramVec) func([]string, float64) {
		return func(l []string, x float64) { v.WithLabelValues(l...).Observe(x) }
	}
	m.owned = map[string]ownedMetric{
		MetricDetectionsReceived:     {counter: func(_ []string, n float64) { m.detectionsReceived.Add(max(n, 0)) }},
		MetricDetectionsDeduplicated: {counter: func(_ []string, n float64) { m.detectionsDeduplicated.Add(max(n, 0)) }},
		MetricDetectionsRejected:     {labels: []string{"reason"}, counter: counterVec(m.detectionsRejected)},
		MetricRunsStarted:            {labels: []string{"playbook", "mode"}, counter: counterVec(m.runsStarted)},
		MetricRunsFinished:           {labels: []string{"playbook", "status"}, counter: counterVec(m.runsFinished)},
		MetricWithdrawalsRecorded:    {labels: []string{"playbook"}, counter: counterVec(m.withdrawalsRecorded)},
		MetricStepDuration:           {labels: []string{"action", "status"}, observe: histVec(m.stepDuration)},
		MetricApprovalsPending:       {gauge: func(_ []string, v float64) { m.pending.set(v) }},
		MetricApprovalDecision:       {labels: []string{"decision"}, observe: histVec(m.approvalDecision)},
		MetricContainmentActions:     {labels: []string{"action", "outcome"}, counter: counterVec(m.containment)},
		MetricGuardrailDecisions:     {labels: []string{"rule", "decision"}, counter: counterVec(m.guardrail)},
		MetricAPIRequests:            {labels: []string{"route", "code"}, counter: counterVec(m.apiRequests)},
	}
	return m
}

// newBuildInfo is riposte_build_info: always 1, its labels say which
// process and build answers the scrape.
func newBuildInfo(process, version string) prometheus.Gauge {
	if version == "" {
		version = "unknown"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        MetricBuildInfo,
		Help:        "Always 1, labelled with the Riposte process (worker, serve, dev), its version and Go version.",
		ConstLabels: prometheus.Labels{"process": process, "version": version, "go_version": runtime.Version()},
	})
	g.Set(1)
	return g
}

// Registry returns the registry, to add collectors of other parts.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry in the Prometheus text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// TemporalHandler returns the Temporal SDK metrics handler writing into the
// same registry: set it as client.Options.MetricsHandler. On a nil
// *Metrics it returns nil (the SDK's default: no metrics).
func (m *Metrics) TemporalHandler() client.MetricsHandler {
	if m == nil {
		return nil
	}
	return &sdkHandler{m: m, c: m.sdk, tags: map[string]string{}}
}

// DetectionReceived counts n detections decoded and validated by the API.
func (m *Metrics) DetectionReceived(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.detectionsReceived.Add(float64(n))
}

// DetectionDeduplicated counts a detection whose every matching run already
// existed.
func (m *Metrics) DetectionDeduplicated() {
	if m == nil {
		return
	}
	m.detectionsDeduplicated.Inc()
}

// DetectionRejected counts a refused detection request. reason is one of the
// Reason constants; anything else is counted as "other".
func (m *Metrics) DetectionRejected(reason string) {
	if m == nil {
		return
	}
	switch reason {
	case ReasonUnauthorized, ReasonTooLarge, ReasonMalformed, ReasonInvalid, ReasonTimeout:
	default:
		reason = reasonOther
	}
	m.detectionsRejected.WithLabelValues(reason).Inc()
}

// RunStarted counts a run started for a playbook in a mode (live, shadow,
// dry_run). A deduplicated start is not a run started.
func (m *Metrics) RunStarted(playbook, mode string) {
	if m == nil {
		return
	}
	m.runsStarted.WithLabelValues(playbook, mode).Inc()
}

// WithdrawalRecorded counts a finding withdrawn before any record of it
// started a run of the playbook: the run that records the withdrawal runs
// no step, so it is counted here and not as a run started or finished.
func (m *Metrics) WithdrawalRecorded(playbook string) {
	if m == nil {
		return
	}
	m.withdrawalsRecorded.WithLabelValues(playbook).Inc()
}

// RunFinished counts a run that ended with status.
func (m *Metrics) RunFinished(playbook, status string) {
	if m == nil {
		return
	}
	m.runsFinished.WithLabelValues(playbook, status).Inc()
}

// StepFinished records one action attempt's duration and status.
func (m *Metrics) StepFinished(action, status string, d time.Duration) {
	if m == nil {
		return
	}
	m.stepDuration.WithLabelValues(action, status).Observe(d.Seconds())
}

// WatchSlackSocketMode adds riposte_slack_socket_mode_connected, 1 while
// connected reports a Socket Mode connection open and 0 while not (asked
// on every scrape). Only a process that uses Socket Mode calls it, so the
// series exists only where 0 means approvals clicked in Slack do not
// arrive. Calling it again replaces nothing (the first stays).
func (m *Metrics) WatchSlackSocketMode(connected func() bool) {
	if m == nil {
		return
	}
	_ = m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: MetricSlackSocketMode,
		Help: "1 while the Slack Socket Mode connection is open, 0 while it is not (approvals clicked in Slack do not arrive).",
	}, func() float64 {
		if connected() {
			return 1
		}
		return 0
	}))
}

// SetApprovalsPending sets the number of runs waiting for a decision. See
// also WatchApprovalsPending, which asks on every scrape.
func (m *Metrics) SetApprovalsPending(n int) {
	if m == nil {
		return
	}
	m.pending.set(float64(n))
}

// ApprovalDecided records how long a gate waited for its decision.
func (m *Metrics) ApprovalDecided(decision string, waited time.Duration) {
	if m == nil {
		return
	}
	m.approvalDecision.WithLabelValues(decision).Observe(waited.Seconds())
}

// ContainmentAction counts one attempt of a contain-risk action.
func (m *Metrics) ContainmentAction(action, outcome string) {
	if m == nil {
		return
	}
	m.containment.WithLabelValues(action, outcome).Inc()
}

// ApprovalRequest counts an attempt to post an approval request.
func (m *Metrics) ApprovalRequest(result string) {
	if m == nil {
		return
	}
	m.approvalRequests.WithLabelValues(result).Inc()
}

// GuardrailDecision counts a site policy decision on a contain step. An
// empty rule (no rule applied) is recorded as "none".
func (m *Metrics) GuardrailDecision(rule, decision string) {
	if m == nil {
		return
	}
	if rule == "" {
		rule = "none"
	}
	m.guardrail.WithLabelValues(rule, decision).Inc()
}

// APIRequest counts one HTTP request by route pattern and status code.
func (m *Metrics) APIRequest(route string, code int) {
	if m == nil {
		return
	}
	m.apiRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}
