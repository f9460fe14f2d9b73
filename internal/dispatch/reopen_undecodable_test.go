package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/workflows"
)

// undecodable is a historyClient whose ended runs' results cannot be
// decoded: a result payload of another shape (a release whose Result
// differed) or one the codec refuses for good (recorded under
// --no-encryption, read once encryption is on). Temporal answers; the
// payload will never decode, whatever is resent.
type undecodable struct {
	*historyClient
	err error
}

type undecodableRun struct {
	client.WorkflowRun
	err error
}

func (r undecodableRun) Get(context.Context, any) error { return r.err }

func (u undecodable) GetWorkflow(context.Context, string, string) client.WorkflowRun {
	return undecodableRun{err: u.err}
}

func otherShape() error {
	var r workflows.Result
	err := json.Unmarshal([]byte(`{"withdrawn":"yes"}`), &r)
	return fmt.Errorf("%w: %v", converter.ErrUnableToDecode, err)
}

// 401a5ad made a failure to read the ended run fail the detection (503,
// Retry-After, "resending is safe") so that a read Temporal could not
// answer is retried. A result that cannot be decoded is no such failure:
// Temporal answered, and every resend fails the same way, so the record
// (and, since 309707a, every later record of its finding in each batch) is
// answered 503 forever: the shipper retries until it gives up and drops
// the batch. Before 401a5ad such a run read as one without a result (like
// a failed run: its start and recorded close are read instead); it must
// still, and the detection must be answered.
func TestReopenWhenTheEndedRunsResultCannotBeDecoded(t *testing.T) {
	for name, readErr := range map[string]error{
		"another shape": otherShape(),
		"unencrypted":   fmt.Errorf("codec: decoding payload 0 (encoding \"json/plain\"): %w", codec.ErrUnencrypted),
	} {
		t.Run(name, func(t *testing.T) { reopenUndecodable(t, readErr) })
	}
}

func reopenUndecodable(t *testing.T, readErr error) {
	const closedAt = int64(1763458937000)
	ctx := context.Background()
	create, _ := closeAndCreate(t)
	cl := &historyClient{}
	d, _ := withdrawnFirstDispatcher(t, workflows.LatestRev)
	d.Client = cl
	out, err := d.Dispatch(ctx, 0, withTimes(create, closedAt-60_000, 0), Options{})
	if err != nil || len(out.Matched) != 1 {
		t.Fatalf("Create: %+v, %v", out, err)
	}
	wid := out.Matched[0].WorkflowID
	cl.end(wid, &workflows.Result{Status: workflows.RunSucceeded, Outcome: workflows.OutcomeContained})

	d.Client = undecodable{cl, readErr}
	for attempt := 1; attempt <= 3; attempt++ {
		out, err = d.Dispatch(ctx, 0, withTimes(create, closedAt-60_000, closedAt+60_000), Options{})
		if err != nil {
			t.Fatalf("attempt %d: a later record of the ended finding whose result cannot be decoded: error %v (a 503 'resend' that no resend can mend)", attempt, err)
		}
	}
	if len(out.Matched) != 1 || !out.Matched[0].Deduplicated {
		t.Errorf("matched %+v; want the ended run, deduplicated", out.Matched)
	}
}
