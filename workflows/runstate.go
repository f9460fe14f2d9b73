package workflows

import (
	"fmt"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/conditions"
	"github.com/riposte-dev/riposte/internal/mdtext"
	"github.com/riposte-dev/riposte/internal/playbook"
	"go.temporal.io/sdk/workflow"
)

func (r *run) setRunStatus(ctx workflow.Context, status string) {
	workflow.SetCurrentDetails(ctx, r.details(status))
	// Search attributes are registered before workers start; an upsert
	// failure is logged, never fatal to the run.
	if err := workflow.UpsertTypedSearchAttributes(ctx, SARunStatus.ValueSet(status)); err != nil {
		workflow.GetLogger(ctx).Warn("cannot update RunStatus", "error", err)
	}
}

// details is the Markdown shown as "current details" in the Temporal UI.
func (r *run) details(status string) string {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("**%s** v%d — %s\n\n", r.pb.Playbook.Name, r.pb.Playbook.Version, status))
	// The current details are Markdown in the Temporal UI: text that can
	// quote outside data (an outcome's reason, an error, ids derived from
	// the detection's uid) goes through mdtext.Text. They are answered by a
	// query, not recorded in the history, so this does not affect replay.
	if r.outcome != "" {
		b.WriteString(fmt.Sprintf("Outcome: **%s**\n\n", mdtext.Text(OutcomeText(r.outcome, r.outcomeDetail), 300)))
	}
	if rb := r.rolledBack; rb != nil && rb.Failed != "" {
		b.WriteString(fmt.Sprintf("Rollback by %s at %s (%s) **failed**: %s\n\n", mdtext.Text(rb.By, 100), rb.At.UTC().Format(time.RFC3339), mdtext.Text(rb.RollbackID, 300), mdtext.Text(rb.Failed, 500)))
	} else if rb != nil {
		b.WriteString(fmt.Sprintf("Rolled back by %s at %s (%s)\n\n", mdtext.Text(rb.By, 100), rb.At.UTC().Format(time.RFC3339), mdtext.Text(rb.RollbackID, 300)))
	}
	r.findingDetails(&b)
	for i, s := range r.pb.Steps {
		b.WriteString(fmt.Sprintf("- `%s` %s: %s\n", s.ID, s.Step.Action, r.results[i].Status))
	}
	if r.outcomes {
		r.holdDetails(&b)
	}
	return b.String()
}

func (r *run) snapshot() []StepResult {
	out := make([]StepResult, len(r.results))
	copy(out, r.results)
	return out
}

// env builds the expression environment from the current state.
func (r *run) env() *conditions.Env {
	steps := make(map[string]any, len(r.results))
	for i, s := range r.results {
		if s.ID == "" {
			continue
		}
		var errv any
		if s.Error != "" {
			errv = s.Error
		}
		steps[s.ID] = map[string]any{"status": r.results[i].Status, "output": s.Output, "error": errv}
	}
	return &conditions.Env{
		Detection: r.detect,
		Finding:   r.finding,
		Vars:      r.vars,
		Steps:     steps,
		Playbook:  map[string]any{"name": r.pb.Playbook.Name, "version": r.pb.Playbook.Version, "digest": r.pb.Digest},
		Run:       map[string]any{"id": r.info.WorkflowExecution.ID, "run_id": r.info.WorkflowExecution.RunID, "dry_run": r.input.Simulated()},
	}
}

func (r *run) evalVars() error {
	r.vars = map[string]any{}
	for _, v := range r.pb.Vars {
		env := r.env()
		val, err := v.Prog.Eval(env.Map()) //workflowcheck:ignore expressions are pure (now() and map order are disabled)
		if err != nil {
			return fmt.Errorf("vars.%s: %w", v.Name, err)
		}
		r.vars[v.Name] = val
	}
	return nil
}

func (r *run) outputs() map[string]any {
	if len(r.pb.Outputs) == 0 {
		return nil
	}
	out := make(map[string]any, len(r.pb.Outputs))
	env := r.env().Map()
	for _, o := range r.pb.Outputs {
		val, err := o.Prog.Eval(env) //workflowcheck:ignore expressions are pure
		if err != nil {
			out[o.Name] = nil
			continue
		}
		out[o.Name] = val
	}
	return out
}

func terminal(status string) bool {
	switch status {
	case playbook.StatusSucceeded, playbook.StatusFailed, playbook.StatusSkipped, playbook.StatusDenied, playbook.StatusTimedOut:
		return true
	}
	return false
}
