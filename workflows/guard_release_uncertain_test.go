package workflows_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// README (Guardrails): a budget slot is given back when the contain action
// failed because the vendor or Riposte refused it, or was never sent; "a
// timeout or a cancellation keeps it, since the action may have reached
// the vendor". http.request's POST that got a 504 from the API's gateway
// fails without a retry precisely because it may have reached the API
// (connector.NoRetry: HTTPUncertain, "the POST may have reached the API,
// so it is not retried"), yet the run reads that failure as "failed
// without acting" and releases its slot: each containment a slow endpoint
// applies behind a gateway timeout is free, and the budget never fills.
//
// The run keeps the slot of a call whose failure says it may have reached
// the vendor (catalog.MayHaveReached; guard-budget-keep-uncertain).
func TestBudgetSlotKeptWhenTheCallMayHaveReachedTheAPI(t *testing.T) {
	const pb = `apiVersion: riposte/v1
name: contain
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: http.request
    with: {connection: edr, method: POST, path: /api/v1/isolate, body: {host: "${{ detection.device.hostname }}"}}
    approval: auto
`
	budget := &policy.Budget{Action: "http.request", Max: 5, Per: time.Hour}
	forRevs(t, func(t *testing.T, rev int) {
		h := newHarness(t)
		h.rev = rev
		check := budgetCheck(budget)
		h.env.RegisterActivityWithOptions(check, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
		releases := recordBudgetReleases(h)
		h.action("http.request", activities.CheckedAction(check, func(context.Context, catalog.Call) (map[string]any, error) {
			// What activities/httpreq returns for a POST answered 504
			// (the gateway gave up; the API behind it may have acted).
			sent := connector.NewFailure(connector.KindUnavailable, "http.request to edr: HTTP 504 Gateway Timeout")
			return nil, connector.ToActivityError(connector.NoRetry(sent, "HTTPUncertain",
				"the POST may have reached the API, so it is not retried (set retry: true, or idempotency_key if the API dedupes)"), nil)
		}))
		res, err := h.run(compileYAML(t, pb), det)
		if res == nil {
			t.Fatalf("no result: %v", err)
		}
		st := stepOf(res, "isolate")
		if g := st.Guardrail; len(releases.all()) != 0 || (g != nil && g.Released) {
			t.Errorf("step %s (%s): its budget slot was released (%+v, guardrail %+v) though the call may have reached the API", st.Status, st.Error, releases.all(), g)
		}
	})
}
