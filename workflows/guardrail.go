package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

// PolicyCheck is the input of ActivityPolicyCheck.
type PolicyCheck struct {
	policy.Request
	// Simulated runs (shadow) get the static rules only: no budget is used.
	Simulated bool `json:"simulated,omitempty"`
}

// guardrail asks the site policy about a contain step. auto says whether
// the playbook would run it without a human. Any failure to ask fails safe:
// a human gate.
func (r *run) guardrail(ctx workflow.Context, cs *playbook.CStep, params map[string]any, auto bool) policy.Decision {
	if cs.Action == nil || cs.Action.Risk != catalog.RiskContain || r.input.DryRun {
		return policy.Decision{Decision: policy.Allow}
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		// Without ScheduleToClose the SDK caps all attempts at StartToClose,
		// so a slow first attempt would never be retried.
		ScheduleToCloseTimeout: 3 * time.Minute,
		StartToCloseTimeout:    30 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 3, InitialInterval: 500 * time.Millisecond},
		Summary:                "guardrails: " + cs.ID,
	})
	req := PolicyCheck{
		Request: policy.Request{
			WorkflowID: r.info.WorkflowExecution.ID, StepID: cs.ID, Action: cs.Step.Action,
			Params: params, Detection: r.detect, Auto: auto,
		},
		Simulated: r.input.Shadow,
	}
	var d policy.Decision
	if err := workflow.ExecuteLocalActivity(lctx, ActivityPolicyCheck, req).Get(ctx, &d); err != nil {
		d = policy.Decision{Decision: policy.Gate, Rule: "guardrails_unavailable", Why: "the guardrail check failed (" + errorMessage(err) + "); a human must approve"}
	}
	// Replay-safe: the workflow metrics handler is silent during replay.
	telemetry.RecordGuardrailDecision(ctx, d.Rule, d.Decision)
	return d
}
