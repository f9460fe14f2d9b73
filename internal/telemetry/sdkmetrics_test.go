package telemetry

import (
	"sync"
	"testing"
	"time"
)

func TestTemporalHandlerCountersTimersGauges(t *testing.T) {
	m := NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	h := m.TemporalHandler()

	// One name, three different tag sets: one family with the union of the
	// label names; labels a series lacks are empty.
	h.Counter("temporal_request").Inc(2)
	h.WithTags(map[string]string{"operation": "PollWorkflowTaskQueue", "namespace": "default"}).Counter("temporal_request").Inc(1)
	wt := h.WithTags(map[string]string{"namespace": "default"}).WithTags(map[string]string{"task_queue": "riposte"})
	wt.Counter("temporal_request").Inc(5)
	wt.Counter("temporal_request").Inc(1) // cached instrument
	wt.Counter("temporal_request").Inc(-3)

	// Tags override earlier ones with the same key.
	h.WithTags(map[string]string{"namespace": "a"}).WithTags(map[string]string{"namespace": "b"}).Counter("temporal_request").Inc(7)

	tm := h.WithTags(map[string]string{"workflow_type": "riposte.playbook", "task_queue": "riposte"})
	tm.Timer("temporal_workflow_task_execution_latency").Record(30 * time.Millisecond)
	tm.Timer("temporal_workflow_task_execution_latency").Record(2 * time.Second)
	h.Timer("temporal_workflow_task_execution_latency").Record(time.Millisecond)

	g := h.WithTags(map[string]string{"worker_type": "ActivityWorker"})
	g.Gauge("temporal_worker_task_slots_available").Update(7)
	g.Gauge("temporal_worker_task_slots_available").Update(3)
	h.Gauge("temporal_sticky_cache_size").Update(12)

	// Sanitising: names and label names outside [a-zA-Z0-9_].
	h.WithTags(map[string]string{"bad-key.x": "v\xff", "9lives": "y", "__reserved": "z"}).Counter("temporal.weird-name").Inc(1)

	fams := scrape(t, m.Handler())
	wantValue(t, fams, "temporal_request_total", "namespace=,operation=,task_queue=", 2)
	wantValue(t, fams, "temporal_request_total", "namespace=default,operation=PollWorkflowTaskQueue,task_queue=", 1)
	wantValue(t, fams, "temporal_request_total", "namespace=default,operation=,task_queue=riposte", 6)
	wantValue(t, fams, "temporal_request_total", "namespace=b,operation=,task_queue=", 7)
	if f := fams["temporal_request_total"]; f.GetType().String() != "COUNTER" {
		t.Errorf("temporal_request_total type %s", f.GetType())
	}
	wantHistogram(t, fams, "temporal_workflow_task_execution_latency_seconds", "task_queue=riposte,workflow_type=riposte.playbook", 2, 2.03)
	wantHistogram(t, fams, "temporal_workflow_task_execution_latency_seconds", "task_queue=,workflow_type=", 1, 0.001)
	wantValue(t, fams, "temporal_worker_task_slots_available", "worker_type=ActivityWorker", 3)
	wantValue(t, fams, "temporal_sticky_cache_size", "", 12)
	wantValue(t, fams, "temporal_weird_name_total", "_9lives=y,bad_key_x=v\uFFFD,x__reserved=z", 1)

	// The registry gathers without errors (consistent label sets).
	if _, err := m.Registry().Gather(); err != nil {
		t.Errorf("Gather: %v", err)
	}
}

func TestTemporalHandlerRoutesRiposteMetrics(t *testing.T) {
	m := NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	// As workflow.GetMetricsHandler(ctx) hands it out: with the worker's
	// default tags, which Riposte's metrics do not have.
	wh := m.TemporalHandler().WithTags(map[string]string{"namespace": "default", "task_queue": "riposte", "workflow_type": "riposte.playbook"})

	wh.WithTags(map[string]string{"decision": "denied"}).Timer(MetricApprovalDecision).Record(2 * time.Minute)
	wh.WithTags(map[string]string{"rule": "protected_asset", "decision": "gate"}).Counter(MetricGuardrailDecisions).Inc(1)
	wh.WithTags(map[string]string{"playbook": "pb", "status": "succeeded"}).Counter(MetricRunsFinished).Inc(1)
	wh.Gauge(MetricApprovalsPending).Update(2)
	// The same through the Metrics methods lands on the same series.
	m.RunFinished("pb", "succeeded")
	// Wrong instrument kind for an owned name: dropped, never a second family.
	wh.Gauge(MetricRunsFinished).Update(99)
	wh.Timer(MetricGuardrailDecisions).Record(time.Second)

	fams := scrape(t, m.Handler())
	wantHistogram(t, fams, "riposte_approval_decision_seconds", "decision=denied", 1, 120)
	wantValue(t, fams, "riposte_guardrail_decisions_total", "decision=gate,rule=protected_asset", 1)
	wantValue(t, fams, "riposte_runs_finished_total", "playbook=pb,status=succeeded", 2)
	wantValue(t, fams, "riposte_approvals_pending", "", 2)
	for name := range fams {
		if name == "riposte_runs_finished_total_total" || name == "riposte_guardrail_decisions_total_seconds" {
			t.Errorf("owned metric leaked into the SDK families: %s", name)
		}
	}
}

func TestTemporalHandlerConcurrent(t *testing.T) {
	m := NewMetrics(MetricsOptions{NoRuntimeCollectors: true})
	h := m.TemporalHandler()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hh := h.WithTags(map[string]string{"worker": string(rune('a' + i%2))})
			for range 1000 {
				hh.Counter("temporal_c").Inc(1)
				hh.Timer("temporal_t").Record(time.Millisecond)
				hh.Gauge("temporal_g").Update(1)
			}
		}()
	}
	done := make(chan struct{})
	go func() { // scrapes while counting
		defer close(done)
		for range 20 {
			if _, err := m.Registry().Gather(); err != nil {
				t.Errorf("Gather: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	<-done
	fams := scrape(t, m.Handler())
	wantValue(t, fams, "temporal_c_total", "worker=a", 4000)
	wantValue(t, fams, "temporal_c_total", "worker=b", 4000)
	wantHistogram(t, fams, "temporal_t_seconds", "worker=a", 4000, 4)
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"temporal_request": "temporal_request",
		"a.b-c":            "a_b_c",
		"1abc":             "_1abc",
		"":                 "_",
		"ns:metric":        "ns:metric",
		"ünïcode":          "_n_code",
	} {
		if got := sanitizeName(in); got != want {
			t.Errorf("sanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := sanitizeLabel("a:b"); got != "a_b" {
		t.Errorf("sanitizeLabel(a:b) = %q", got)
	}
}
