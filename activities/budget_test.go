package activities

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/workflows"
)

// guardFake stands for the Temporal client in front of a budget guard: it
// counts slots like the guard, records every batch and how many were in
// flight at once, and can refuse calls.
type guardFake struct {
	client.Client
	mu                 sync.Mutex
	used, max          int
	batches            []int
	inFlight, maxIn    int
	exhausted          int   // the next calls answer ResourceExhausted
	fail               error // every call fails with it
	delay              time.Duration
	described, started int
}

type fakeHandle struct {
	client.WorkflowUpdateHandle
	res workflows.BudgetBatchResult
}

func (h fakeHandle) Get(_ context.Context, v any) error {
	*(v.(*workflows.BudgetBatchResult)) = h.res
	return nil
}

func (f *guardFake) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	f.mu.Lock()
	f.started++
	f.mu.Unlock()
	return nil
}

func (f *guardFake) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.described++
	return &workflowservice.DescribeWorkflowExecutionResponse{}, nil
}

func (f *guardFake) UpdateWithStartWorkflow(ctx context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	if f.exhausted > 0 {
		f.exhausted--
		return nil, serviceerror.NewResourceExhausted(0, "limit on number of concurrent in-flight updates has been reached (10)")
	}
	b := o.UpdateOptions.Args[0].(workflows.BudgetBatch)
	f.batches = append(f.batches, len(b.Reserve)+len(b.Release))
	var res workflows.BudgetBatchResult
	for range b.Release {
		f.used--
		res.Released = append(res.Released, true)
	}
	for range b.Reserve {
		ok := f.used < f.max
		if ok {
			f.used++
		}
		res.Reserved = append(res.Reserved, workflows.ReserveResult{Granted: ok, Used: f.used, Max: f.max})
	}
	return fakeHandle{res: res}, nil
}

func reserveMany(t *testing.T, b *Budgets, n int, timeout time.Duration) (granted int, errs []error) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			r, err := b.Reserve(ctx, workflows.ReserveRequest{Budget: "crowdstrike.contain_host", Key: "k", Max: 100, Per: time.Hour})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if r.Granted {
				granted++
			}
		}()
	}
	wg.Wait()
	return granted, errs
}

// Concurrent reservations of one process go out batched, one Update in
// flight per budget, and the in-flight limit of the server is waited out.
func TestBudgetsBatchOneUpdateInFlight(t *testing.T) {
	f := &guardFake{max: 100, delay: 20 * time.Millisecond, exhausted: 3}
	b := NewBudgets(f, "q")
	b.legacy = nil
	granted, errs := reserveMany(t, b, 500, 30*time.Second)
	if len(errs) > 0 || granted != 100 {
		t.Fatalf("granted %d, errors %v", granted, errs)
	}
	total := 0
	for _, n := range f.batches {
		total += n
	}
	if total != 500 || f.maxIn != 1 || len(f.batches) > 100 {
		t.Errorf("%d requests in %d batches, %d in flight at most; want 500 in few batches, 1 in flight", total, len(f.batches), f.maxIn)
	}
	// A release goes through the same queue.
	ok, err := b.Release(context.Background(), workflows.ReleaseRequest{Budget: "crowdstrike.contain_host", Key: "k"})
	if err != nil || !ok || f.used != 99 {
		t.Errorf("release: %v %v, used %d", ok, err, f.used)
	}
}

// A guard that cannot be reached is an error (the workflow then gates the
// step for guardrails_unavailable): never a granted slot.
func TestBudgetsFailClosed(t *testing.T) {
	f := &guardFake{max: 100, fail: errors.New("connection refused")}
	b := NewBudgets(f, "q")
	b.legacy = nil
	granted, errs := reserveMany(t, b, 20, 5*time.Second)
	if granted != 0 || len(errs) != 20 {
		t.Errorf("granted %d, %d errors; want 0 and 20", granted, len(errs))
	}
	// Refused for good (in-flight limit never clears): the caller's
	// deadline ends the wait with an error.
	f2 := &guardFake{max: 100, exhausted: 1 << 30}
	b2 := NewBudgets(f2, "q")
	b2.legacy = nil
	start := time.Now()
	granted, errs = reserveMany(t, b2, 5, 300*time.Millisecond)
	if granted != 0 || len(errs) != 5 || time.Since(start) > 20*time.Second {
		t.Errorf("granted %d, %d errors after %s", granted, len(errs), time.Since(start))
	}
}

// Before the first batch to a guard this process has not seen answer, the
// previous single guard's reservations are read (only when the budget
// guard does not exist yet).
func TestBudgetsSeedOnlyForNewGuards(t *testing.T) {
	f := &guardFake{max: 10}
	b := NewBudgets(f, "q")
	seeded := 0
	b.legacy = func(context.Context, string) ([]workflows.Reservation, error) {
		seeded++
		return nil, nil
	}
	if _, errs := reserveMany(t, b, 3, 5*time.Second); len(errs) > 0 {
		t.Fatal(errs)
	}
	// The guard exists (Describe answered): no legacy read, and once it
	// answered, no more Describe either.
	if seeded != 0 || f.described != 1 {
		t.Errorf("legacy reads %d, describes %d", seeded, f.described)
	}
}

// idFake records the workflow ids the budget guards are started and
// updated under.
type idFake struct {
	*guardFake
	started, updated []string
}

func (f *idFake) NewWithStartWorkflowOperation(o client.StartWorkflowOptions, wf any, args ...any) client.WithStartWorkflowOperation {
	f.mu.Lock()
	f.started = append(f.started, o.ID)
	f.mu.Unlock()
	return f.guardFake.NewWithStartWorkflowOperation(o, wf, args...)
}

func (f *idFake) UpdateWithStartWorkflow(ctx context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	f.updated = append(f.updated, o.UpdateOptions.WorkflowID)
	f.mu.Unlock()
	return f.guardFake.UpdateWithStartWorkflow(ctx, o)
}

// TestBudgetGuardWorkflowIDs pins the README's "Each budget rule has its
// own guard workflow (riposte-guard-budget-<action>,
// riposte-guard-budget-any for "*")": the ids reservations and releases
// are sent to, as operators find the guards in the Temporal UI.
func TestBudgetGuardWorkflowIDs(t *testing.T) {
	for budget, want := range map[string]string{
		"crowdstrike.contain_host": "riposte-guard-budget-crowdstrike.contain_host",
		"okta.suspend_user":        "riposte-guard-budget-okta.suspend_user",
		"*":                        "riposte-guard-budget-any",
	} {
		f := &idFake{guardFake: &guardFake{max: 5}}
		b := NewBudgets(f, "q")
		b.legacy = nil
		if _, err := b.Reserve(context.Background(), workflows.ReserveRequest{Budget: budget, Key: "k", Max: 5, Per: time.Hour}); err != nil {
			t.Fatalf("%s: reserve: %v", budget, err)
		}
		if _, err := b.Release(context.Background(), workflows.ReleaseRequest{Budget: budget, Key: "k"}); err != nil {
			t.Fatalf("%s: release: %v", budget, err)
		}
		for _, ids := range [][]string{f.started, f.updated} {
			if len(ids) != 2 || ids[0] != want || ids[1] != want {
				t.Errorf("budget %q: guard ids started %q, updated %q; want %q", budget, f.started, f.updated, want)
				break
			}
		}
	}
}
