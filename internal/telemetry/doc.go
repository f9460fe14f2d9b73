// Package telemetry is Riposte's observability: Prometheus metrics,
// OpenTelemetry traces and structured logs, for the API (riposte serve), the
// worker (riposte worker) and riposte dev.
//
// # Metrics
//
// [NewMetrics] builds a [Metrics] on its own *prometheus.Registry (nothing is
// registered in package-level state). Callers use its methods
// (DetectionReceived, RunStarted, StepFinished, ...) and never touch
// Prometheus types; every method is safe on a nil *Metrics, so a component
// built without metrics needs no checks. [Metrics.Handler] serves the
// registry at /metrics. Riposte's own series are all prefixed riposte_:
//
//	riposte_detections_received_total                 detections decoded and validated by POST /v1/detections
//	riposte_detections_deduplicated_total             of those, detections whose runs all existed already
//	riposte_detections_rejected_total{reason}         requests refused: unauthorized, too_large, malformed, invalid
//	riposte_runs_started_total{playbook,mode}         runs started (mode: live, shadow, dry_run)
//	riposte_runs_finished_total{playbook,status}      runs that returned (status: succeeded, failed, canceled; worker
//	                                                  interceptor) or that Temporal ended (terminated, timed_out;
//	                                                  WatchClosedRuns, from visibility, namespace-wide)
//	riposte_withdrawals_recorded_total{playbook}      findings withdrawn before any run: recorded by a run that runs no step, not counted above
//	riposte_step_duration_seconds{action,status}      one histogram sample per action attempt (status: succeeded, failed, canceled, timed_out)
//	riposte_approvals_pending                         runs waiting for a human decision (whole namespace, from visibility)
//	riposte_approval_decision_seconds{decision}       gate opened -> closed (decision: approved, denied, timed_out, escalated)
//	riposte_containment_actions_total{action,outcome} contain-risk action attempts (outcome: succeeded, failed, simulated, canceled, timed_out)
//	riposte_approval_requests_total{result}           attempts to post an approval request (result: posted, not_configured, failed)
//	riposte_guardrail_decisions_total{rule,decision}  site policy decisions on contain steps (decision: allow, gate, refuse)
//	riposte_api_requests_total{route,code}            HTTP requests by ServeMux pattern and status code
//	riposte_slack_socket_mode_connected               1 while Slack Socket Mode is connected, 0 while not (only where Socket Mode is on)
//	riposte_build_info{process,version,go_version}    always 1 (process: worker, serve, dev; [MetricsOptions].Process): alert on
//	                                                  absent(riposte_build_info{process="worker"}), independent of job names
//
// plus go_* and process_* from the standard collectors.
//
// # Temporal SDK metrics
//
// [Metrics.TemporalHandler] adapts the registry to the SDK's
// client.MetricsHandler (set it as client.Options.MetricsHandler). The SDK's
// own series keep their names, sanitised for Prometheus, with the suffixes
// Temporal's Grafana dashboards expect: counters get _total, timers become
// histograms in seconds with _seconds (temporal_request_total,
// temporal_workflow_task_execution_latency_seconds_bucket, ...), gauges keep
// their name.
//
// The SDK attaches different tag sets to the same metric name (a poll
// request carries operation and namespace; a workflow task adds
// workflow_type and task_queue). Prometheus wants one label set per name.
// The adapter keeps one family per name and, when it is scraped, exposes
// every series with the union of the label names seen for that name,
// filling the ones a series lacks with "". In Prometheus a label with an
// empty value is the same as an absent label, so this loses nothing and
// never splits a name into several (a per-key-set suffix would break every
// query and dashboard written against the SDK's names).
//
// # Workflow-side metrics
//
// Workflow code must stay deterministic and must not count twice on replay.
// Riposte's workflow-side metrics therefore go through
// workflow.GetMetricsHandler(ctx), which the SDK silences during replay. When
// the name is one of Riposte's (riposte_approval_decision_seconds, ...), the
// adapter routes it to the same series the [Metrics] methods use, keeping
// only that metric's labels. [RecordApprovalDecision] and
// [RecordGuardrailDecision] are the helpers the interpreter calls.
//
// [NewWorkerInterceptor] observes the rest from the worker side, with no
// change to workflow code: every action attempt (step duration by action,
// containment outcomes for contain-risk actions) from the activity side, and
// every playbook run's end (runs finished by playbook and status) from a
// workflow inbound interceptor, again through the replay-safe handler.
//
// # Traces
//
// [SetupTracing] installs an OTLP exporter (gRPC or HTTP) as the global
// OpenTelemetry tracer provider when an endpoint is configured
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or
// [TracingOptions].Endpoint), and does nothing otherwise. [HTTPMiddleware]
// starts the intake span for every API request, [NewTemporalTracingInterceptor]
// continues the trace through workflow start, workflow execution and
// activity execution (propagated in Temporal headers), so one trace runs
// from POST /v1/detections to the last action.
//
// # Logs
//
// [NewLogger] builds the process slog.Logger (text or JSON). Its handler adds
// trace_id/span_id and, inside activities, workflow_id, run_id, step and
// action from the context to every record logged with a context
// (logger.InfoContext(ctx, ...)); the worker interceptor also adds step
// (and index, for for_each) to activity.GetLogger(ctx), which already
// carries WorkflowID and RunID.
package telemetry
