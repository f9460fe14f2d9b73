package workflows_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// README (Guardrails): a contain call that failed without acting gives its
// budget slot back. From RevContainFinishes a contain call in flight when
// the run aborts (or is cancelled) is not cancelled: it finishes and the
// run records what it did. One that then fails without acting (the vendor
// refused it: non-retryable, nothing applied) keeps its slot all the
// same when the release ran on the step's context, which the abort has
// cancelled: it was never sent and the guardrail said "the slot could not
// be released (canceled) and still counts", so a run that aborted ate a
// budget slot (max N isolations an hour) for a containment that never
// happened. The release now runs on a disconnected context, as the call
// did.
func TestBudgetSlotReleasedForContainCallThatFailedAfterAbort(t *testing.T) {
	h := newHarness(t)
	h.rev = workflows.LatestRev
	const wait = 10 * time.Second
	h.env.SetTestTimeout(4 * wait)
	budget := &policy.Budget{Action: "crowdstrike.contain_host", Max: 5, Per: time.Hour}
	check := func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
		return policy.Decision{Decision: policy.Allow, Rule: "budget", Budget: budget, Why: "budget: 1 of 5 used"}, nil
	}
	h.env.RegisterActivityWithOptions(check, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
	var mu sync.Mutex
	var releases []workflows.ReleaseRequest
	h.env.RegisterActivityWithOptions(func(_ context.Context, r workflows.ReleaseRequest) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		releases = append(releases, r)
		return true, nil
	}, activity.RegisterOptions{Name: workflows.ActivityBudgetRelease})
	running := map[string]chan struct{}{"fin-ws-042": make(chan struct{})}
	started := running["fin-ws-042"]
	failOnceStarted(t, h, &mu, running, wait)
	fail := h.actions["core.fail"]
	aborted := make(chan struct{})
	h.action("core.fail", func(ctx context.Context, c catalog.Call) (map[string]any, error) {
		defer close(aborted)
		return fail(ctx, c)
	})
	h.action("crowdstrike.contain_host", activities.CheckedAction(check, func(ctx context.Context, c catalog.Call) (map[string]any, error) {
		close(started)
		select {
		case <-aborted:
			time.Sleep(100 * time.Millisecond)
		case <-time.After(wait):
			t.Error("the run did not abort while the contain call ran")
		}
		// The vendor refuses: nothing was applied.
		return nil, temporal.NewNonRetryableApplicationError("host not found", "NotFound", nil)
	}))
	h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) { return nil, nil })

	res, _ := h.run(compileYAML(t, fmt.Sprintf(cancelledContain, `    with: {hostname: "${{ detection.device.hostname }}"}`)), det)
	if res == nil {
		t.Fatal("no result")
	}
	st := stepOf(res, "isolate")
	if st.Status != "failed" || st.Error != "host not found" {
		t.Fatalf("isolate %s (%q): want the call finished and refused by the vendor", st.Status, st.Error)
	}
	mu.Lock()
	defer mu.Unlock()
	if g := st.Guardrail; len(releases) != 1 || g == nil || !g.Released {
		t.Errorf("releases %+v, guardrail %+v: want the slot of a call that acted on nothing given back", releases, g)
	}
}
