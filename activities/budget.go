package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/guardrails"
	"github.com/riposte-dev/riposte/workflows"
)

// budgetBatchMax bounds one Update's payload (a few hundred bytes a request).
const budgetBatchMax = 1000

// budgetCallTimeout bounds one batch Update; a waiter gives up earlier when
// its own context ends (the local activity's attempt timeout).
const budgetCallTimeout = 30 * time.Second

// Budgets sends reservations and releases to the budget guards, batching
// everything this process has waiting for one budget into one Update, with
// at most one Update in flight per budget: a burst of N containments costs
// about N/batch Updates, and a guard sees at most one in-flight Update per
// worker process (the server's default limit is 10 per workflow).
type Budgets struct {
	Client    client.Client
	TaskQueue string
	// IDSuffix is appended to the guards' workflow ids, for a benchmark or
	// test sharing a namespace with others; it also turns off the seeding
	// from the single pre-sharding guard.
	IDSuffix string

	mu     sync.Mutex
	shards map[string]*budgetShard
	// seeded records the guards known to exist (no legacy seed needed).
	seeded map[string]bool
	// legacy returns the reservations the pre-sharding guard holds for a
	// budget (nil in tests).
	legacy func(ctx context.Context, budget string) ([]workflows.Reservation, error)
}

type budgetShard struct {
	name    string
	pending []*budgetOp
	running bool
}

type budgetOp struct {
	ctx     context.Context
	reserve *workflows.ReserveRequest
	release *workflows.ReleaseRequest
	done    chan struct{}
	res     workflows.ReserveResult
	freed   bool
	err     error
}

// NewBudgets returns a client of the budget guards.
func NewBudgets(c client.Client, taskQueue string) *Budgets {
	b := &Budgets{Client: c, TaskQueue: taskQueue, shards: map[string]*budgetShard{}, seeded: map[string]bool{}}
	b.legacy = func(ctx context.Context, budget string) ([]workflows.Reservation, error) {
		st, err := guardrails.LegacyState(ctx, c)
		if err != nil {
			return nil, err
		}
		return st.Budgets[budget], nil
	}
	return b
}

// Reserve asks the budget's guard for a slot.
func (b *Budgets) Reserve(ctx context.Context, r workflows.ReserveRequest) (workflows.ReserveResult, error) {
	op := &budgetOp{ctx: ctx, reserve: &r, done: make(chan struct{})}
	if err := b.do(ctx, r.Budget, op); err != nil {
		return workflows.ReserveResult{}, err
	}
	return op.res, nil
}

// Release gives a slot back; false when the guard held nothing under the key.
func (b *Budgets) Release(ctx context.Context, r workflows.ReleaseRequest) (bool, error) {
	op := &budgetOp{ctx: ctx, release: &r, done: make(chan struct{})}
	if err := b.do(ctx, r.Budget, op); err != nil {
		return false, err
	}
	return op.freed, nil
}

func (b *Budgets) do(ctx context.Context, budget string, op *budgetOp) error {
	b.mu.Lock()
	s := b.shards[budget]
	if s == nil {
		s = &budgetShard{name: budget}
		b.shards[budget] = s
	}
	s.pending = append(s.pending, op)
	if !s.running {
		s.running = true
		go b.flush(s)
	}
	b.mu.Unlock()
	select {
	case <-op.done:
		return op.err
	case <-ctx.Done():
		return fmt.Errorf("waiting for the budget guard of %s: %w", budget, ctx.Err())
	}
}

// flush sends the shard's waiting operations, one batch at a time, until
// none is left.
func (b *Budgets) flush(s *budgetShard) {
	for {
		b.mu.Lock()
		var batch []*budgetOp
		rest := s.pending[:0:0]
		for _, op := range s.pending {
			switch {
			case op.ctx.Err() != nil:
				// The caller gave up: do not take a slot for nobody.
				op.err = op.ctx.Err()
				close(op.done)
			case len(batch) < budgetBatchMax:
				batch = append(batch, op)
			default:
				rest = append(rest, op)
			}
		}
		s.pending = rest
		if len(batch) == 0 {
			s.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.send(s.name, batch)
	}
}

func (b *Budgets) send(budget string, batch []*budgetOp) {
	var req workflows.BudgetBatch
	var rel, res []*budgetOp
	for _, op := range batch {
		if op.release != nil {
			req.Release = append(req.Release, *op.release)
			rel = append(rel, op)
		} else {
			req.Reserve = append(req.Reserve, *op.reserve)
			res = append(res, op)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), budgetCallTimeout)
	defer cancel()
	out, err := b.call(ctx, budget, req)
	if err == nil && (len(out.Released) != len(rel) || len(out.Reserved) != len(res)) {
		err = fmt.Errorf("budget guard answered %d/%d results for %d/%d requests", len(out.Released), len(out.Reserved), len(rel), len(res))
	}
	for i, op := range rel {
		if err == nil {
			op.freed = out.Released[i]
		}
		op.err = err
		close(op.done)
	}
	for i, op := range res {
		if err == nil {
			op.res = out.Reserved[i]
		}
		op.err = err
		close(op.done)
	}
}

// call sends one batch, retrying what the server asks to retry (in-flight
// Update limit, a guard continuing as new) until ctx ends.
func (b *Budgets) call(ctx context.Context, budget string, req workflows.BudgetBatch) (workflows.BudgetBatchResult, error) {
	var out workflows.BudgetBatchResult
	seed, err := b.seed(ctx, budget)
	if err != nil {
		return out, err
	}
	wait := 50 * time.Millisecond
	for {
		out, err = b.update(ctx, budget, req, seed)
		if err == nil || !retryableGuardError(err) {
			break
		}
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("budget guard of %s: %w (last error: %v)", budget, ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
	if err != nil {
		return out, fmt.Errorf("budget guard of %s: %w", budget, err)
	}
	b.mu.Lock()
	b.seeded[budget] = true
	b.mu.Unlock()
	return out, nil
}

func (b *Budgets) update(ctx context.Context, budget string, req workflows.BudgetBatch, seed workflows.BudgetGuardState) (workflows.BudgetBatchResult, error) {
	var out workflows.BudgetBatchResult
	id := b.guardID(budget)
	op := b.Client.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                b.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "Riposte guardrails: containment budget " + budget,
	}, workflows.BudgetGuardWorkflow, seed)
	h, err := b.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.UpdateBudgetBatch,
			Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	if err != nil {
		return out, err
	}
	err = h.Get(ctx, &out)
	return out, err
}

func (b *Budgets) guardID(budget string) string { return workflows.BudgetGuardID(budget) + b.IDSuffix }

// seed is the start input of a guard that may not exist yet: the
// reservations the single pre-sharding guard holds for the budget, so an
// upgrade does not reset budgets. Once a guard answered, it exists.
func (b *Budgets) seed(ctx context.Context, budget string) (workflows.BudgetGuardState, error) {
	st := workflows.BudgetGuardState{Budget: budget}
	b.mu.Lock()
	known := b.seeded[budget]
	b.mu.Unlock()
	if known || b.legacy == nil || b.IDSuffix != "" {
		return st, nil
	}
	if _, err := b.Client.DescribeWorkflowExecution(ctx, b.guardID(budget), ""); err == nil {
		return st, nil
	} else if !isNotFound(err) {
		return st, fmt.Errorf("looking up the budget guard of %s: %w", budget, err)
	}
	rs, err := b.legacy(ctx, budget)
	if err != nil {
		return st, fmt.Errorf("reading the previous guard's budget %s: %w", budget, err)
	}
	st.Reservations = rs
	return st, nil
}

// retryableGuardError: the server refused for now (too many Updates in
// flight, rate limits) or the guard was closing (continue-as-new).
func retryableGuardError(err error) bool {
	var re *serviceerror.ResourceExhausted
	var un *serviceerror.Unavailable
	var ab *serviceerror.Aborted
	var nf *serviceerror.NotFound
	var wc *serviceerror.WorkflowNotReady
	return errors.As(err, &re) || errors.As(err, &un) || errors.As(err, &ab) || errors.As(err, &nf) || errors.As(err, &wc)
}
