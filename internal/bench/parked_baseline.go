package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/workflows"
)

// BaselineParkedWorkflow is the workflow type of the hand-written parked
// baseline.
const BaselineParkedWorkflow = "riposte.bench.baseline-parked"

// BaselineParked is what a team would write by hand for "contain after a
// human approves": wait for an Update carrying the decision (validated: a
// deciding user is required), then run the same containment activity as
// the parked playbook, with the same activity options. It has no policy
// check, no approval message, no search attributes and no audit trail:
// it is the floor the parked playbook's decisions are compared with.
func BaselineParked(ctx workflow.Context, in BaselineInput) (BaselineResult, error) {
	var decision *workflows.Decision
	if err := workflow.SetUpdateHandlerWithOptions(ctx, workflows.UpdateDecide,
		func(ctx workflow.Context, d workflows.Decision) (string, error) {
			decision = &d
			return "recorded", nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, d workflows.Decision) error {
			if d.User == "" || decision != nil {
				return errors.New("a decision needs a user, and only one is taken")
			}
			return nil
		}},
	); err != nil {
		return BaselineResult{}, err
	}
	if err := workflow.Await(ctx, func() bool { return decision != nil }); err != nil {
		return BaselineResult{}, err
	}
	res := BaselineResult{Outputs: map[string]any{}}
	if !decision.Approve {
		return res, nil
	}
	out, err := baselineStep(ctx, "contain", ContainAction, map[string]any{"hostname": str(in.Detection, "device", "hostname")})
	if err != nil {
		return res, err
	}
	res.Contained, res.Outputs["contain"] = true, out
	return res, nil
}

// baselineParkedResult is the hand-written floor of the decisions.
type baselineParkedResult struct {
	K           int
	Approved    int
	ApproveTime time.Duration
	CPU         cpuUse // from the first decision until every run completed
	Completed   int
	Errors      int
	FirstError  string
	P99         time.Duration
}

func (r *baselineParkedResult) rate() float64 {
	if r.ApproveTime <= 0 {
		return 0
	}
	return float64(r.Approved) / r.ApproveTime.Seconds()
}

func (r *baselineParkedResult) cpuPerDecision() float64 {
	if r.Approved == 0 {
		return 0
	}
	return r.CPU.Proc.Seconds() * 1000 / float64(r.Approved)
}

// runBaselineParked starts k hand-written runs straight through the
// client, lets them park, then approves them all with client Updates at
// the parked phase's concurrency and waits for them to complete.
func (l *loader) runBaselineParked(ctx context.Context, k, conc int, logf func(string, ...any)) baselineParkedResult {
	r := baselineParkedResult{K: k}
	c := l.sys.client
	ids := make([]string, k)
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		r.Errors++
		if r.FirstError == "" {
			r.FirstError = err.Error()
		}
	}
	run := func(n int, f func(i int)) {
		work := make(chan int)
		var wg sync.WaitGroup
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					f(i)
				}
			}()
		}
		for i := range n {
			if ctx.Err() != nil {
				break
			}
			work <- i
		}
		close(work)
		wg.Wait()
	}
	prefix := fmt.Sprintf("bench-baseline-parked:%d", time.Now().UnixNano())
	run(k, func(i int) {
		ids[i] = fmt.Sprintf("%s:%d", prefix, i)
		det := map[string]any{"device": map[string]any{"hostname": labHosts[i%len(labHosts)]}}
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: workflows.DefaultTaskQueue, EnableEagerStart: true},
			BaselineParkedWorkflow, BaselineInput{Detection: det})
		if err != nil {
			fail(fmt.Errorf("starting %s: %w", ids[i], err))
		}
	})
	// Each run parks in its first workflow task; let the last ones finish.
	time.Sleep(3 * time.Second)
	logf("baseline parked: %d hand-written runs waiting; approving them with client Updates", k)

	var lat []time.Duration
	var approved atomic.Int64
	m := markCPU()
	start := time.Now()
	run(k, func(i int) {
		t0 := time.Now()
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: ids[i], UpdateName: workflows.UpdateDecide, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{workflows.Decision{GateID: "contain", Approve: true, User: approver, Via: "bench", At: time.Now().UTC()}},
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		d := time.Since(t0)
		if err != nil {
			fail(fmt.Errorf("approving %s: %w", ids[i], err))
			return
		}
		approved.Add(1)
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
	})
	r.ApproveTime = time.Since(start)
	r.Approved = int(approved.Load())
	for _, id := range ids {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		if _, ok := l.sys.probe.wait(wctx, id); ok {
			r.Completed++
		}
		cancel()
		l.sys.probe.forget(id)
	}
	r.CPU = since(m)
	r.P99 = pct(lat).P99
	logf("baseline parked: %d decisions in %s (%.1f/s), %.1f CPU-ms each", r.Approved, r.ApproveTime.Round(time.Millisecond), r.rate(), r.cpuPerDecision())
	return r
}
