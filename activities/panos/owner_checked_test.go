package panos_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/activities/panos"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/labkit"
	"github.com/riposte-dev/riposte/internal/policy"
)

// runChecked runs action as a playbook step that asks the guardrails runs
// it (catalog.CheckedActivity, activities.CheckedAction), with up to
// attempts tries: heartbeat details carry over between attempts, and a
// failed attempt leaves its guardrail record in them.
func runChecked(t *testing.T, h *connectortest.Harness, action string, params map[string]any, attempts int32, onAttempt ...func(attempt int32)) (map[string]any, error) {
	t.Helper()
	return runAttempts(t, h, action, params, attempts, true, onAttempt...)
}

// runAttempts runs action with up to attempts tries, as a checked call
// or not, calling onAttempt as each attempt starts.
func runAttempts(t *testing.T, h *connectortest.Harness, action string, params map[string]any, attempts int32, checked bool, onAttempt ...func(attempt int32)) (map[string]any, error) {
	t.Helper()
	g, err := activities.NewGuardrails(nil, "q", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	activities.RegisterWithGuardrails(env, h.Env, g)
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		for _, f := range onAttempt {
			f(info.Attempt)
		}
	})
	rp := &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 1, MaximumAttempts: attempts}
	wf := func(ctx workflow.Context, call activities.Call) (map[string]any, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: rp})
		var out map[string]any
		name := call.Action
		if call.Guardrail != nil {
			name = catalog.CheckedActivity(name)
		}
		err := workflow.ExecuteActivity(ctx, name, call).Get(ctx, &out)
		return out, err
	}
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "run-checked"})
	call := h.Call(action, params, "wf-test/step/0")
	if checked {
		call.Guardrail = &policy.Request{Action: action, Params: params}
	}
	env.ExecuteWorkflow("run-checked", call)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		return nil, err
	}
	var out map[string]any
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

// An undo run by a step that asks the guardrails (a checked call) saved
// the firewalls it chose in its heartbeat details, then lifted its own
// block and lost the answer. The guardrail wrapper records how the attempt
// ended in the heartbeat details on its way out, replacing them: the retry
// found no saved firewalls and no owner tag left, took the block for one
// of an earlier release and lifted it everywhere, the analyst's too.
func TestCheckedUnblockRetriedAfterALostAnswerLeavesABlockItDidNotPut(t *testing.T) {
	h := connectortest.New(t)
	analystBlock(h)
	fake := panoramaBoth(h)
	h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	h.Lab.Kit.InjectFault("panos", labkit.Fault{Status: 503, Lost: true})
	if _, err := runChecked(t, h, "panos.unblock_ip", map[string]any{"ip": blockedIP}, 3); err != nil {
		t.Fatal(err)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("first firewall tags %v after the retried checked undo: the analyst's block was lifted", tags)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[1], blockedIP); len(tags) != 0 {
		t.Errorf("second firewall tags %v after the retried checked undo: want none", tags)
	}
}

// The same, with a second attempt that fails before it acts (the
// analyst's firewall does not answer): the third attempt still knows the
// firewalls the first one chose, though the second saved nothing of its
// own, and the guardrails' record of how the second ended rides beside
// them.
func TestCheckedUnblockRetriedTwiceKeepsTheFirewallsItChose(t *testing.T) {
	h := connectortest.New(t)
	analystBlock(h)
	fake := panoramaBoth(h)
	h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	h.Lab.Kit.InjectFault("panos", labkit.Fault{Status: 503, Lost: true})
	attempts := int32(0)
	_, err := runChecked(t, h, "panos.unblock_ip", map[string]any{"ip": blockedIP}, 4, func(attempt int32) {
		attempts = attempt
		if attempt == 2 {
			h.Lab.Kit.InjectFault("panos", labkit.Fault{Status: 503})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if attempts != 3 {
		t.Fatalf("%d attempts, want 3", attempts)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("first firewall tags %v after the third attempt: the analyst's block was lifted", tags)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[1], blockedIP); len(tags) != 0 {
		t.Errorf("second firewall tags %v: want none", tags)
	}
}
