package telemetry

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// The helpers below are called from workflow code. They only use
// workflow.GetMetricsHandler(ctx): deterministic (no command is recorded),
// silent during replay, and routed by Metrics.TemporalHandler to the same
// series as the Metrics methods. Without that handler on the client they do
// nothing.

// RecordApprovalDecision records, from workflow code, how long a gate waited
// for its decision (approved, denied, timed_out, escalated). Pass the gate's
// opening and closing times from workflow.Now.
func RecordApprovalDecision(ctx workflow.Context, decision string, waited time.Duration) {
	if waited < 0 {
		waited = 0
	}
	workflow.GetMetricsHandler(ctx).
		WithTags(map[string]string{"decision": decision}).
		Timer(MetricApprovalDecision).Record(waited)
}

// RecordGuardrailDecision counts, from workflow code, the site policy's
// decision (allow, gate, refuse) on a contain step and the rule that made it
// ("" = none).
func RecordGuardrailDecision(ctx workflow.Context, rule, decision string) {
	if rule == "" {
		rule = "none"
	}
	workflow.GetMetricsHandler(ctx).
		WithTags(map[string]string{"rule": rule, "decision": decision}).
		Counter(MetricGuardrailDecisions).Inc(1)
}

// RecordRunFinished counts, from workflow code, a run that ended. The worker
// interceptor already does this for every riposte.playbook run; use it only
// for other workflow types.
func RecordRunFinished(ctx workflow.Context, playbook, status string) {
	workflow.GetMetricsHandler(ctx).
		WithTags(map[string]string{"playbook": playbook, "status": status}).
		Counter(MetricRunsFinished).Inc(1)
}
