package workflows_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/workflows"
)

// uncertainContain: a contain call with a short deadline and one attempt,
// held for an hour, then a step that waits for a human, so a withdrawal
// arrives while the run still runs.
const uncertainContain = `apiVersion: riposte/v1
name: uncertain
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: crowdstrike.contain_host
    with: {hostname: "fin-ws-042"}
    approval: auto
    timeout: 1s
    retry: {max_attempts: 1}
    contain_for: 1h
    on_failure: continue
  - id: ticket
    action: jira.create_issue
    needs: [isolate]
    always: true
    with: {summary: "isolate ${{ steps.isolate.status }}"}
    approval: {approvers: {users: [U1]}, timeout: 6h, on_timeout: deny}
`

// README (Guardrails) keeps the budget slot of a contain call that timed
// out "since the action may have reached the vendor", and the catalog says
// a call whose request may have reached the vendor may be in place. Yet a
// contain call that timed out (the vendor isolated the host after our
// StartToClose deadline: a slow EDR API, a lost answer) is forgotten by
// everything that lets a human find and lift it: the run holds nothing
// (no contain_for release), its rollback plan is empty (riposte rollback
// answers 409 "nothing to roll back"), a withdrawal does not list it for
// review, and the outcome says not_contained ("none happened"). The host
// stays isolated with no record that says it may be. A withdrawal now
// lists it for review (review-uncertain-containment). A rollback still
// does not undo it: no answer says whether this run applied it or the
// host was already isolated by someone else, whose containment an undo
// would lift; riposte rollback's 409 says so and names the step
// (TestRollbackPlanNamesUncertainContainment in internal/api).
func TestTimedOutContainCallIsNotForgotten(t *testing.T) {
	h := newHarness(t)
	h.rev = workflows.LatestRev
	allowPolicy(h)
	f := &gateFake{}
	f.register(h.env)
	var applied atomic.Bool
	h.action("crowdstrike.contain_host", func(ctx context.Context, call catalog.Call) (map[string]any, error) {
		// The vendor applies it, but answers after our deadline.
		applied.Store(true)
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
		return map[string]any{"device_id": "aid-1"}, nil
	})
	h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) {
		return map[string]any{}, nil
	})
	h.action("jira.create_issue", func(_ context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil })
	h.withdrawAfter(10 * time.Minute)
	res, err := h.run(compileYAML(t, uncertainContain), det)
	if res == nil {
		t.Fatalf("no result: %v", err)
	}
	st := stepOf(res, "isolate")
	if !applied.Load() || st.Status != "timed_out" {
		t.Fatalf("isolate %s (%s): want the call made and timed out", st.Status, st.Error)
	}
	t.Logf("isolate %s (%s); outcome %s %q; holds %+v; withdrawn %+v", st.Status, st.Error, res.Outcome, res.OutcomeDetail, res.Holds, res.Withdrawn)
	if w := res.Withdrawn; w == nil || !contains(w.Review, "isolate") {
		t.Errorf("withdrawal review %+v: want the isolate that may be in place listed for a human", w)
	}
	if undo := workflows.UndoCalls(res.Steps, res.Holds, compileCatalog()); len(undo) != 0 {
		t.Errorf("rollback plan %+v: an uncertain call is not undone (it may be someone else's containment)", undo)
	}
	if !workflows.StepUncertain(st) {
		t.Errorf("isolate %s (%s) is not uncertain", st.Status, st.Error)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// The same for a call whose failure says so itself: http.request's POST
// answered 504 by the API's gateway fails "may have reached the API"
// (catalog.MayHaveReached), and the run keeps its budget slot for that
// reason (TestBudgetSlotKeptWhenTheCallMayHaveReachedTheAPI). It has no
// undo, so a withdrawal's review is the only place a human learns the
// containment may be in place; the review used to leave it out.
func TestWithdrawalReviewsAContainCallThatMayHaveReachedTheAPI(t *testing.T) {
	const pb = `apiVersion: riposte/v1
name: uncertainhttp
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: http.request
    with: {connection: edr, method: POST, path: /api/v1/isolate, body: {host: "fin-ws-042"}}
    approval: auto
    on_failure: continue
  - id: ticket
    action: jira.create_issue
    needs: [isolate]
    always: true
    with: {summary: "isolate ${{ steps.isolate.status }}"}
    approval: {approvers: {users: [U1]}, timeout: 6h, on_timeout: deny}
`
	h := newHarness(t)
	h.rev = workflows.LatestRev
	allowPolicy(h)
	f := &gateFake{}
	f.register(h.env)
	h.action("http.request", func(context.Context, catalog.Call) (map[string]any, error) {
		// What activities/httpreq returns for a POST answered 504.
		sent := connector.NewFailure(connector.KindUnavailable, "http.request to edr: HTTP 504 Gateway Timeout")
		return nil, connector.ToActivityError(connector.NoRetry(sent, "HTTPUncertain",
			"the POST "+catalog.MayHaveReached+", so it is not retried (set retry: true, or idempotency_key if the API dedupes)"), nil)
	})
	h.action("jira.create_issue", func(_ context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil })
	h.withdrawAfter(10 * time.Minute)
	res, err := h.run(compileYAML(t, pb), det)
	if res == nil {
		t.Fatalf("no result: %v", err)
	}
	st := stepOf(res, "isolate")
	if st.Status != "failed" || !strings.Contains(st.Error, catalog.MayHaveReached) {
		t.Fatalf("isolate %s (%s): want failed, may have reached the API", st.Status, st.Error)
	}
	if w := res.Withdrawn; w == nil || !contains(w.Review, "isolate") {
		t.Errorf("withdrawal review %+v: want the isolate that may have reached the API listed for a human", w)
	}
}
