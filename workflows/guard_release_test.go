package workflows_test

import (
	"context"
	"errors"
	"strings"
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

const forEachContain = `apiVersion: riposte/v1
name: contain
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: crowdstrike.contain_host
    for_each: '${{ ["a", "b"] }}'
    with: {hostname: "${{ item }}"}
    approval: auto
`

// A budget slot is given back when the contain action failed (or was never
// sent), and kept when it may have happened (success, timeout).
func TestBudgetSlotReleasedWhenActionFails(t *testing.T) {
	budget := &policy.Budget{Action: "crowdstrike.contain_host", Max: 5, Per: time.Hour}
	for _, tc := range []struct {
		name     string
		playbook string
		vendor   func(context.Context, catalog.Call) error
		released bool
	}{
		{"failed", strings.Replace(containPlaybook, "%s", "approval: auto", 1), func(context.Context, catalog.Call) error {
			return temporal.NewNonRetryableApplicationError("no connection configured for crowdstrike", "NoConnection", nil)
		}, true},
		{"succeeded", strings.Replace(containPlaybook, "%s", "approval: auto", 1), func(context.Context, catalog.Call) error { return nil }, false},
		{"timed out", strings.Replace(containPlaybook, "%s", "approval: auto\n    timeout: 200ms\n    retry: {max_attempts: 1}", 1), func(ctx context.Context, _ catalog.Call) error {
			<-ctx.Done()
			return ctx.Err()
		}, false},
		{"for_each all failed", forEachContain, func(context.Context, catalog.Call) error {
			return temporal.NewNonRetryableApplicationError("refused", "Refused", nil)
		}, true},
		{"for_each one succeeded", forEachContain, func(_ context.Context, c catalog.Call) error {
			if c.Params["hostname"] == "a" {
				return nil
			}
			return temporal.NewNonRetryableApplicationError("refused", "Refused", nil)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forRevs(t, func(t *testing.T, rev int) {
				h := newHarness(t)
				h.rev = rev
				check := func(_ context.Context, req workflows.PolicyCheck) (policy.Decision, error) {
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
				h.action("crowdstrike.contain_host", activities.CheckedAction(check, func(ctx context.Context, c catalog.Call) (map[string]any, error) {
					if err := tc.vendor(ctx, c); err != nil {
						return nil, err
					}
					return map[string]any{"device_id": "aid-1"}, nil
				}))
				h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) { return nil, nil })
				res, err := h.run(compileYAML(t, tc.playbook), det)
				if res == nil {
					t.Fatalf("no result: %v", err)
				}
				g := stepOf(res, "isolate").Guardrail
				if tc.released {
					want := workflows.ReleaseRequest{Budget: "crowdstrike.contain_host", Key: "default-test-workflow-id/isolate", Why: "the action failed"}
					if len(releases) != 1 || releases[0] != want {
						t.Errorf("releases %+v, want one %+v", releases, want)
					}
					if g == nil || !g.Released || !strings.Contains(g.Why, "released") {
						t.Errorf("guardrail on the step %+v", g)
					}
				} else if len(releases) != 0 || (g != nil && g.Released) {
					t.Errorf("slot released for a step whose action may have happened: %+v, %+v", releases, g)
				}
			})
		})
	}
}

// A release that cannot be done leaves the slot counted and says so.
func TestBudgetReleaseFailureIsRecorded(t *testing.T) {
	forRevs(t, func(t *testing.T, rev int) {
		h := newHarness(t)
		h.rev = rev
		check := func(_ context.Context, req workflows.PolicyCheck) (policy.Decision, error) {
			return policy.Decision{Decision: policy.Allow, Rule: "budget", Budget: &policy.Budget{Action: "*", Max: 1, Per: time.Hour}}, nil
		}
		h.env.RegisterActivityWithOptions(check, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
		h.env.RegisterActivityWithOptions(func(context.Context, workflows.ReleaseRequest) (bool, error) {
			return false, errors.New("guard unreachable")
		}, activity.RegisterOptions{Name: workflows.ActivityBudgetRelease})
		h.action("crowdstrike.contain_host", activities.CheckedAction(check, func(context.Context, catalog.Call) (map[string]any, error) {
			return nil, temporal.NewNonRetryableApplicationError("refused by the vendor", "Refused", nil)
		}))
		res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto", 1)), det)
		if res == nil {
			t.Fatal("no result")
		}
		st := stepOf(res, "isolate")
		if g := st.Guardrail; g == nil || g.Released || !strings.Contains(g.Why, "still counts") {
			t.Errorf("guardrail %+v", g)
		}
		// The failure keeps its message through the decision's details.
		if st.Status != "failed" || st.Error != "refused by the vendor" {
			t.Errorf("step %s: %q", st.Status, st.Error)
		}
	})
}
