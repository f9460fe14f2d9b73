package workflows_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

func compileYAML(t *testing.T, src string) *playbook.Compiled {
	t.Helper()
	c, diags := playbook.LoadBytes("test.yaml", []byte(src), activities.Catalog())
	if len(diags) > 0 {
		t.Fatalf("playbook does not validate:\n%v", diags)
	}
	return c
}

type harness struct {
	t    *testing.T
	env  *testsuite.TestWorkflowEnvironment
	keys *signing.Keys
	logs *logBuffer
	// rev is the revision run asks for (Input.Rev).
	rev int
	// actions are the registered fakes by name: a local call that runs the
	// next step ahead (RevRunAhead) finds its action here, as workers do.
	actions map[string]activities.ActionFunc
}

// logBuffer holds the workflow's log (its audit records).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// audits returns the log's records with message msg.
func (l *logBuffer) audits(msg string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, "msg=\""+msg+"\"") {
			out = append(out, line)
		}
	}
	return out
}

// audited checks the log holds exactly one record msg per want, in order,
// each at warning level and naming its want.
func (h *harness) audited(msg string, wants ...string) {
	h.t.Helper()
	recs := h.logs.audits(msg)
	if len(recs) != len(wants) {
		h.t.Errorf("%d %q records, want %d: %q", len(recs), msg, len(wants), recs)
		return
	}
	for i, w := range wants {
		if !strings.Contains(recs[i], "level=WARN") || !strings.Contains(recs[i], w) {
			h.t.Errorf("%q record %d %q: want a warning naming %q", msg, i, recs[i], w)
		}
	}
}

// testWorkflowID is the test environment's default workflow id: decisions
// are sealed for it.
const testWorkflowID = "default-test-workflow-id"

// testKeys are the decision keys of the test worker.
func testKeys(t *testing.T) *signing.Keys {
	k, err := signing.NewKeys("t1", map[string][]byte{"t1": []byte("test decision key, 32 bytes long")})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newHarness(t *testing.T) *harness { return newHarnessStore(t, nil) }

// newHarnessStore is newHarness with a playbook store for runs started by
// reference.
func newHarnessStore(t *testing.T, store workflows.PlaybookStore) *harness {
	var s testsuite.WorkflowTestSuite
	logs := &logBuffer{}
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(logs, nil))))
	env := s.NewTestWorkflowEnvironment()
	in := workflows.NewInterpreter(activities.Catalog())
	in.Keys = testKeys(t)
	in.Store = store
	workflows.Register(env, in)
	return &harness{t: t, env: env, keys: in.Keys, logs: logs}
}

// seal signs a decision as the API would (Via api unless set), at the test
// clock's now: call it when the decision is sent (seals are used fresh).
func (h *harness) seal(d workflows.Decision) workflows.Decision {
	if d.Via == "" {
		d.Via = workflows.ViaAPI
	}
	d.Seal = h.keys.Sign(workflows.DecisionClaim(testWorkflowID, d), h.env.Now())
	return d
}

// action registers fn as the named action, and as its checked calls'
// activity type (catalog.CheckedActivity), as workers do for contain
// actions.
func (h *harness) action(name string, fn func(context.Context, catalog.Call) (map[string]any, error)) {
	if h.actions == nil {
		h.actions = map[string]activities.ActionFunc{}
	}
	h.actions[name] = fn
	next := func(action string) (activities.ActionFunc, bool) {
		f, ok := h.actions[action]
		return f, ok
	}
	withAhead := activities.WithAhead(fn, next)
	// An unnamed func type, as the mocks of OnActivity are.
	h.env.RegisterActivityWithOptions(func(ctx context.Context, call catalog.Call) (map[string]any, error) { return withAhead(ctx, call) },
		activity.RegisterOptions{Name: name})
	h.env.RegisterActivityWithOptions(activities.RequireGuardrail(fn), activity.RegisterOptions{Name: catalog.CheckedActivity(name)})
}

// run executes the playbook and returns the result (also for failed runs).
func (h *harness) run(c *playbook.Compiled, det map[string]any) (*workflows.Result, error) {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, Rev: h.rev})
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	var res workflows.Result
	err := h.env.GetWorkflowError()
	if err == nil {
		if gerr := h.env.GetWorkflowResult(&res); gerr != nil {
			h.t.Fatal(gerr)
		}
		return &res, nil
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == workflows.ErrRunFailed {
		if derr := ae.Details(&res); derr != nil {
			h.t.Fatalf("decoding failure details: %v", derr)
		}
		return &res, err
	}
	return nil, err
}

func statuses(res *workflows.Result) map[string]string {
	m := map[string]string{}
	for _, s := range res.Steps {
		m[s.ID] = s.Status
	}
	return m
}

func wantStatuses(t *testing.T, res *workflows.Result, want map[string]string) {
	t.Helper()
	got := statuses(res)
	for id, w := range want {
		if got[id] != w {
			t.Errorf("step %s: status %q, want %q (error %q, reason %q)", id, got[id], w, stepOf(res, id).Error, stepOf(res, id).Reason)
		}
	}
}

func stepOf(res *workflows.Result, id string) workflows.StepResult {
	s, _ := res.Step(id)
	if s == nil {
		return workflows.StepResult{}
	}
	return *s
}

var det = map[string]any{
	"class_uid":        2004,
	"severity_id":      5,
	"confidence_score": 91,
	"finding_info":     map[string]any{"uid": "f-1", "title": "Credential dumping"},
	"device":           map[string]any{"hostname": "fin-ws-042", "ip": "10.1.2.3"},
	"metadata":         map[string]any{"product": map[string]any{"name": "detector"}},
}

const dagPlaybook = `apiVersion: riposte/v1
name: dag
version: 1
trigger:
  when: detection.severity_id >= 4
vars:
  host: detection.device.hostname
  upper: upper(vars.host)
steps:
  - id: a
    action: core.noop
    with: {host: "${{ vars.host }}"}
  - id: b
    action: core.noop
    needs: [a]
    with: {from: "${{ steps.a.output.host }}"}
  - id: c
    action: core.noop
    needs: [a]
    with: {label: "host=${{ vars.upper }} sev=${{ detection.severity_id }}"}
  - id: d
    action: core.noop
    needs: [b, c]
    with: {both: "${{ [steps.b.output.from, steps.c.output.label] }}"}
outputs:
  label: steps.c.output.label
  done: steps.d.status == "succeeded"
`

func TestDAGOrderAndParallelism(t *testing.T) {
	h := newHarness(t)
	c := compileYAML(t, dagPlaybook)
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		return call.Params, nil
	})
	// Each activity takes 10s of (skipped) workflow time, so parallel steps
	// share start times and sequential ones do not.
	h.env.SetTestTimeout(time.Minute)
	h.env.OnActivity("core.noop", mock.Anything, mock.Anything).After(10 * time.Second).Return(func(_ context.Context, call catalog.Call) (map[string]any, error) {
		return call.Params, nil
	})
	res, err := h.run(c, det)
	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, res, map[string]string{"a": "succeeded", "b": "succeeded", "c": "succeeded", "d": "succeeded"})
	a, b, cc, d := stepOf(res, "a"), stepOf(res, "b"), stepOf(res, "c"), stepOf(res, "d")
	if !b.StartedAt.Equal(*cc.StartedAt) {
		t.Errorf("b and c should start together: %v vs %v", b.StartedAt, cc.StartedAt)
	}
	if !b.StartedAt.After(*a.StartedAt) || !d.StartedAt.After(*b.StartedAt) {
		t.Errorf("order wrong: a %v b %v d %v", a.StartedAt, b.StartedAt, d.StartedAt)
	}
	if got := cc.Output.(map[string]any)["label"]; got != "host=FIN-WS-042 sev=5" {
		t.Errorf("rendered label = %q", got)
	}
	both, _ := d.Params.(map[string]any)["both"].([]any)
	if len(both) != 2 || both[0] != "fin-ws-042" {
		t.Errorf("single template must keep its type: %#v", d.Params)
	}
	if res.Outputs["done"] != true || res.Outputs["label"] != "host=FIN-WS-042 sev=5" {
		t.Errorf("outputs = %#v", res.Outputs)
	}
	if res.Status != workflows.RunSucceeded {
		t.Errorf("status = %s", res.Status)
	}
}

func TestIfSkipsAndDependentsSkip(t *testing.T) {
	h := newHarness(t)
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil })
	c := compileYAML(t, `apiVersion: riposte/v1
name: skip
version: 1
trigger: {when: "true"}
steps:
  - id: gate
    action: core.noop
    if: detection.severity_id > 5
  - id: after
    action: core.noop
    needs: [gate]
  - id: always
    action: core.noop
    needs: [gate]
    if: steps.gate.status == "skipped"
`)
	res, err := h.run(c, det)
	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, res, map[string]string{"gate": "skipped", "after": "skipped", "always": "succeeded"})
	if r := stepOf(res, "after").Reason; !strings.Contains(r, "needs gate, which skipped") {
		t.Errorf("reason = %q", r)
	}
}

func TestForEach(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		calls.Add(1)
		return map[string]any{"ip": call.Params["ip"], "key": call.IdempotencyKey}, nil
	})
	c := compileYAML(t, `apiVersion: riposte/v1
name: each
version: 1
trigger: {when: "true"}
steps:
  - id: block
    action: core.noop
    for_each: ${{ ["203.0.113.7", "198.51.100.9", "192.0.2.1"] }}
    concurrency: 2
    with: {ip: "${{ item }}", n: "${{ index }}"}
outputs:
  ips: map(steps.block.output, .ip)
`)
	res, err := h.run(c, det)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Errorf("calls = %d, want 3", calls.Load())
	}
	s := stepOf(res, "block")
	if s.Status != "succeeded" || len(s.Items) != 3 {
		t.Fatalf("step = %+v", s)
	}
	if s.Items[1].Params.(map[string]any)["n"] != float64(1) && s.Items[1].Params.(map[string]any)["n"] != 1 {
		t.Errorf("index not bound: %#v", s.Items[1].Params)
	}
	ips := res.Outputs["ips"].([]any)
	if len(ips) != 3 || ips[2] != "192.0.2.1" {
		t.Errorf("outputs = %#v", res.Outputs)
	}
	if k := s.Items[2].Output.(map[string]any)["key"].(string); !strings.HasSuffix(k, "/block/2") {
		t.Errorf("idempotency key = %q", k)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		if calls.Add(1) < 3 {
			return nil, errors.New("vendor 503")
		}
		return map[string]any{"ok": true}, nil
	})
	c := compileYAML(t, `apiVersion: riposte/v1
name: retry
version: 1
trigger: {when: "true"}
steps:
  - id: flaky
    action: core.noop
    retry: {max_attempts: 3, initial_interval: 1s, backoff: 2.0, max_interval: 5s}
`)
	res, err := h.run(c, det)
	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, res, map[string]string{"flaky": "succeeded"})
	if calls.Load() != 3 {
		t.Errorf("attempts = %d, want 3", calls.Load())
	}
}

const failurePlaybook = `apiVersion: riposte/v1
name: failing
version: 1
trigger: {when: "true"}
steps:
  - id: first
    action: core.noop
  - id: boom
    action: core.fail
    needs: [first]
    with: {message: "vendor said no", retryable: false}
    on_failure: %s
  - id: next
    action: core.noop
    needs: [boom]
    if: steps.boom.status == "failed"
  - id: unrelated
    action: core.noop
    needs: [first]
`

func TestFailureAbortAndContinue(t *testing.T) {
	for _, tc := range []struct {
		policy    string
		wantErr   bool
		want      map[string]string
		runStatus string
	}{
		{"abort", true, map[string]string{"first": "succeeded", "boom": "failed", "next": "skipped"}, workflows.RunFailed},
		{"continue", false, map[string]string{"first": "succeeded", "boom": "failed", "next": "succeeded", "unrelated": "succeeded"}, workflows.RunSucceeded},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			h := newHarness(t)
			activities.Register(h.env, activities.NewEnv(nil))
			c := compileYAML(t, strings.Replace(failurePlaybook, "%s", tc.policy, 1))
			res, err := h.run(c, det)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			wantStatuses(t, res, tc.want)
			if res.Status != tc.runStatus {
				t.Errorf("run status %s, want %s", res.Status, tc.runStatus)
			}
			if e := stepOf(res, "boom").Error; e != "vendor said no" {
				t.Errorf("error = %q", e)
			}
			// The failure message names the step but never quotes the
			// vendor (it is shown in clear in the UI); the reason is in the
			// result.
			if tc.wantErr && (!strings.Contains(err.Error(), "run failed: step boom failed (core.fail)") || strings.Contains(err.Error(), "vendor said no") ||
				res.Error != "step boom failed: vendor said no") {
				t.Errorf("run error = %v, result error %q", err, res.Error)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	h := newHarness(t)
	// Slow to stop, so the SDK's timer ends the attempt. A handler that
	// returns ctx.Err() at once races that timer; activities' wrapper
	// reports its failure as a timeout too (activities.TestAttemptTimedOut).
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		<-ctx.Done()
		time.Sleep(time.Second)
		return nil, ctx.Err()
	})
	c := compileYAML(t, `apiVersion: riposte/v1
name: slow
version: 1
trigger: {when: "true"}
steps:
  - id: hang
    action: core.noop
    timeout: 200ms
    retry: {max_attempts: 1}
    on_failure: continue
`)
	res, err := h.run(c, det)
	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, res, map[string]string{"hang": "timed_out"})
}

func TestStepsQuery(t *testing.T) {
	h := newHarness(t)
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil })
	c := compileYAML(t, dagPlaybook)
	if _, err := h.run(c, det); err != nil {
		t.Fatal(err)
	}
	v, err := h.env.QueryWorkflow(workflows.QuerySteps)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	var steps []workflows.StepResult
	if err := v.Get(&steps); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 4 || steps[3].ID != "d" || steps[3].Status != "succeeded" {
		t.Errorf("steps = %+v", steps)
	}
}

func asApp(err error, target any) bool { return errors.As(err, target) }

func uniqueSorted(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func compileCatalog() *catalog.Catalog { return activities.Catalog() }
