// Package connectortest runs vendor connector actions against the lab's
// fake vendors, for the tests in each activities/<vendor>/ folder: one
// activity at a time (Run) or inside a workflow with Temporal's retries
// (RunWithRetries), with every lab secret checked out of outputs and errors.
package connectortest

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/lab"
)

// Harness is a lab plus an activity environment with every action
// registered on connections pointing at the lab.
type Harness struct {
	T       *testing.T
	Lab     *lab.Lab
	Env     *activities.Env
	act     *testsuite.TestActivityEnvironment
	secrets []string
}

// New starts a lab for the test.
func New(t *testing.T) *Harness {
	t.Helper()
	l, err := lab.Start(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	env := activities.NewEnv(nil)
	env.Connections = l.Connections()
	var suite testsuite.WorkflowTestSuite
	act := suite.NewTestActivityEnvironment()
	activities.Register(act, env)
	h := &Harness{T: t, Lab: l, Env: env, act: act}
	for _, c := range l.Connections() {
		for _, ref := range c.Secrets {
			h.secrets = append(h.secrets, ref.Lab)
		}
	}
	return h
}

// Call builds the input of one action.
func (h *Harness) Call(action string, params map[string]any, key string) activities.Call {
	return activities.Call{Action: action, Params: params, WorkflowID: "wf-test", RunID: "run-1", StepID: "step", IdempotencyKey: key}
}

// Run executes one attempt of an action.
func (h *Harness) Run(action string, params map[string]any, key string) (map[string]any, error) {
	h.T.Helper()
	v, err := h.act.ExecuteActivity(action, h.Call(action, params, key))
	if err != nil {
		h.checkNoSecret(err.Error())
		return nil, err
	}
	var out map[string]any
	if err := v.Get(&out); err != nil {
		h.T.Fatal(err)
	}
	for k, v := range out {
		if s, ok := v.(string); ok {
			h.checkNoSecret(k + "=" + s)
		}
	}
	return out, nil
}

// MustRun is Run that fails the test on an error.
func (h *Harness) MustRun(action string, params map[string]any, key string) map[string]any {
	h.T.Helper()
	out, err := h.Run(action, params, key)
	if err != nil {
		h.T.Fatalf("%s: %v", action, err)
	}
	return out
}

// RunWithRetries runs an action in a workflow with up to attempts tries
// one second apart (on the test suite's clock), the way a playbook step
// runs it as a regular activity: heartbeat details carry over between
// attempts.
func (h *Harness) RunWithRetries(action string, params map[string]any, attempts int32) (map[string]any, error) {
	h.T.Helper()
	return h.runWithRetries(action, params, attempts, false)
}

// RunLocalWithRetries is RunWithRetries as a local activity, the way runs
// from workflows.RevLocalRecoverable run short steps: no heartbeat details
// reach the next attempt.
func (h *Harness) RunLocalWithRetries(action string, params map[string]any, attempts int32) (map[string]any, error) {
	h.T.Helper()
	return h.runWithRetries(action, params, attempts, true)
}

func (h *Harness) runWithRetries(action string, params map[string]any, attempts int32, local bool) (map[string]any, error) {
	h.T.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	activities.Register(env, h.Env)
	rp := &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 1, MaximumAttempts: attempts}
	wf := func(ctx workflow.Context, call activities.Call) (map[string]any, error) {
		var fut workflow.Future
		if local {
			ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
				StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: time.Duration(attempts) * 31 * time.Second, RetryPolicy: rp,
			})
			fut = workflow.ExecuteLocalActivity(ctx, call.Action, call)
		} else {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: rp})
			fut = workflow.ExecuteActivity(ctx, call.Action, call)
		}
		var out map[string]any
		err := fut.Get(ctx, &out)
		return out, err
	}
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "run-action"})
	env.ExecuteWorkflow("run-action", h.Call(action, params, "wf-test/step/0"))
	if !env.IsWorkflowCompleted() {
		h.T.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		return nil, err
	}
	var out map[string]any
	if err := env.GetWorkflowResult(&out); err != nil {
		h.T.Fatal(err)
	}
	return out, nil
}

func (h *Harness) checkNoSecret(s string) {
	h.T.Helper()
	for _, sec := range h.secrets {
		if sec != "" && strings.Contains(s, sec) {
			h.T.Errorf("a secret value leaked into %q", s)
		}
	}
}

// AppError returns err as a Temporal ApplicationError, failing the test
// when it is not one.
func AppError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got success")
	}
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("error is not an ApplicationError: %T %v", err, err)
	}
	return ae
}

// SetSecret replaces one secret of a connection.
func (h *Harness) SetSecret(conn, field, value string) {
	c := h.Env.Connections[conn]
	c.Secrets = maps.Clone(c.Secrets)
	c.Secrets[field] = activities.SecretRef{Lab: value}
	h.Env.Connections[conn] = c
}

// Execute runs one attempt of an activity with a call built by the test.
func (h *Harness) Execute(name string, call activities.Call) (converter.EncodedValue, error) {
	return h.act.ExecuteActivity(name, call)
}
