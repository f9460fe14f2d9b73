package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// uncertainItemRollback: on_withdraw: rollback, a for_each contain step
// over two hosts; h2's call times out in its action (the vendor may have
// isolated it), h1's succeeds.
const uncertainItemRollback = `apiVersion: riposte/v1
name: uncertainitem
version: 1
on_withdraw: rollback
trigger: {when: "true"}
steps:
  - id: isolate
    action: crowdstrike.contain_host
    for_each: '${{ ["h1", "h2"] }}'
    with: {hostname: "${{ item }}"}
    approval: auto
    timeout: 1s
    retry: {max_attempts: 1}
    on_failure: continue
  - id: ticket
    action: jira.create_issue
    needs: [isolate]
    always: true
    with: {summary: "isolate ${{ steps.isolate.status }}"}
    approval: {approvers: {users: [U1]}, timeout: 6h, on_timeout: deny}
`

// README (Undo): a contain call whose result is unknown (it timed out in
// its action) is listed in a withdrawal's review, since it may be in
// place, and is not undone. A withdrawal with on_withdraw: rollback of a
// for_each step whose h1 succeeded and whose h2 timed out undoes h1 and,
// since every undo call of the step succeeded, drops the step from the
// review: h2, which may be isolated, was named nowhere a human reads
// (rollbackSteps counted a step reviewed once all its undo calls
// succeeded, though the uncertain item had none). It stays in the review
// (withdraw-rollback-keeps-uncertain).
func TestWithdrawalRollbackKeepsAnUncertainItemInReview(t *testing.T) {
	h := newHarness(t)
	h.rev = workflows.LatestRev
	allowPolicy(h)
	f := &gateFake{}
	f.register(h.env)
	h.action("crowdstrike.contain_host", func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		p := call.Params
		if p["hostname"] == "h2" {
			// Applied by the vendor, answered after our deadline.
			select {
			case <-ctx.Done():
			case <-time.After(3 * time.Second):
			}
		}
		return map[string]any{"device_id": "aid-" + p["hostname"].(string)}, nil
	})
	h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) {
		return map[string]any{}, nil
	})
	h.action("jira.create_issue", func(_ context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil })
	h.withdrawAfter(10 * time.Minute)
	res, err := h.run(compileYAML(t, uncertainItemRollback), det)
	if res == nil {
		t.Fatalf("no result: %v", err)
	}
	st := stepOf(res, "isolate")
	if len(st.Items) != 2 || st.Items[0].Status != "succeeded" || st.Items[1].Status != "timed_out" {
		t.Fatalf("isolate items %+v: want h1 succeeded, h2 timed out", st.Items)
	}
	w := res.Withdrawn
	if w == nil {
		t.Fatal("no withdrawal recorded")
	}
	t.Logf("withdrawn: review %v, rolled back %+v", w.Review, w.RolledBack)
	if !contains(w.Review, "isolate") {
		t.Errorf("withdrawal review %v: want isolate listed, its h2 call timed out and may be in place (only h1 was undone)", w.Review)
	}
}
