package workflows_test

import (
	"context"
	"errors"
	"fmt"
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
		{"failed after acting on some targets", strings.Replace(containPlaybook, "%s", "approval: auto", 1), func(context.Context, catalog.Call) error {
			return temporal.NewNonRetryableApplicationError("blocking ip 203.0.113.77: on firewall 000000000000: Device is not connected ("+catalog.PartiallyApplied+": done on firewall 007951000123456)", "VendorError", nil)
		}, false},
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
				check := budgetCheck(budget)
				h.env.RegisterActivityWithOptions(check, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
				releases := recordBudgetReleases(h)
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
					if len(releases.all()) != 1 || releases.all()[0] != want {
						t.Errorf("releases %+v, want one %+v", releases.all(), want)
					}
					if g == nil || !g.Released || !strings.Contains(g.Why, "released") {
						t.Errorf("guardrail on the step %+v", g)
					}
				} else if len(releases.all()) != 0 || (g != nil && g.Released) {
					t.Errorf("slot released for a step whose action may have happened: %+v, %+v", releases.all(), g)
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

// cancelledContain: boom fails (on_failure: abort, the default) while
// isolate's contain call is running, so the abort cancels isolate. With
// for_each, every item of isolate is running when it is cancelled.
const cancelledContain = `apiVersion: riposte/v1
name: contain
version: 1
trigger: {when: "true"}
steps:
  - id: boom
    action: core.fail
    with: {message: "vendor said no", retryable: false}
    retry: {max_attempts: 1}
  - id: isolate
    action: crowdstrike.contain_host
%s
    approval: auto
`

// TestBudgetSlotKeptWhenActionCancelled pins the README's "a timeout or a
// cancellation keeps it [the slot], since the action may have reached the
// vendor": a contain call cancelled while it runs (the run aborted) fails
// as cancelled, and its slot is not given back, on its own or under
// for_each (every item cancelled). From RevContainFinishes the abort does
// not cancel the call: it finishes, and what it contained keeps its slot.
func TestBudgetSlotKeptWhenActionCancelled(t *testing.T) {
	budget := &policy.Budget{Action: "crowdstrike.contain_host", Max: 5, Per: time.Hour}
	for _, tc := range []struct {
		name  string
		with  string
		items []string // hostnames the contain call is made for
	}{
		{"single", `    with: {hostname: "${{ detection.device.hostname }}"}`, []string{"fin-ws-042"}},
		{"for_each", "    for_each: '${{ [\"a\", \"b\"] }}'\n    with: {hostname: \"${{ item }}\"}", []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forRevs(t, func(t *testing.T, rev int) {
				h := newHarness(t)
				h.rev = rev
				// wait bounds every wait of the fakes; only a broken
				// abort waits that long.
				const wait = 10 * time.Second
				h.env.SetTestTimeout(4 * wait)
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

				cancelRequested := make(chan struct{})
				var once sync.Once
				h.env.SetOnActivityCanceledListener(func(*activity.Info) { once.Do(func() { close(cancelRequested) }) })
				finishes := rev >= workflows.RevContainFinishes
				aborted := make(chan struct{})
				running := map[string]chan struct{}{}
				for _, it := range tc.items {
					running[it] = make(chan struct{})
				}
				failOnceStarted(t, h, &mu, running, wait)
				fail := h.actions["core.fail"]
				h.action("core.fail", func(ctx context.Context, c catalog.Call) (map[string]any, error) {
					defer close(aborted)
					return fail(ctx, c)
				})
				h.action("crowdstrike.contain_host", activities.CheckedAction(check, func(ctx context.Context, c catalog.Call) (map[string]any, error) {
					host, _ := c.Params["hostname"].(string)
					mu.Lock()
					if ch, ok := running[host]; ok {
						delete(running, host)
						close(ch)
					}
					mu.Unlock()
					if finishes {
						// Still running once the run aborted: it finishes.
						select {
						case <-aborted:
							time.Sleep(100 * time.Millisecond)
						case <-time.After(wait):
							t.Errorf("the run did not abort while the contain call for %s ran", host)
						}
						return map[string]any{"device_id": "aid-1"}, nil
					}
					select {
					case <-cancelRequested:
					case <-time.After(wait):
						t.Errorf("the contain call for %s was not cancelled", host)
						return map[string]any{"device_id": "aid-1"}, nil
					}
					// The next heartbeat is answered with the cancellation.
					activity.RecordHeartbeat(ctx)
					select {
					case <-ctx.Done():
						return nil, ctx.Err()
					case <-time.After(wait):
						t.Errorf("the contain call's context for %s was not cancelled", host)
						return map[string]any{"device_id": "aid-1"}, nil
					}
				}))
				h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) { return nil, nil })

				res, _ := h.run(compileYAML(t, fmt.Sprintf(cancelledContain, tc.with)), det)
				if res == nil {
					t.Fatal("no result")
				}
				st := stepOf(res, "isolate")
				if finishes {
					if res.Status != workflows.RunFailed || st.Status != "succeeded" {
						t.Fatalf("run %s, isolate %s (%q): want the run failed by boom and the contain call it did not cancel succeeded", res.Status, st.Status, st.Error)
					}
					select {
					case <-cancelRequested:
						t.Error("a contain call in flight was cancelled")
					default:
					}
					mu.Lock()
					defer mu.Unlock()
					if g := st.Guardrail; len(releases) != 0 || (g != nil && g.Released) {
						t.Errorf("slot released for a containment that was applied: %+v, %+v", releases, g)
					}
					return
				}
				if st.Status != "failed" {
					t.Fatalf("isolate %s (%q), want failed as cancelled", st.Status, st.Error)
				}
				if len(st.Items) == 0 && !strings.HasPrefix(st.Error, "cancelled: step boom failed") {
					t.Errorf("isolate's error %q, want it cancelled by boom's failure", st.Error)
				}
				if len(st.Items) != 0 && len(st.Items) != len(tc.items) {
					t.Errorf("%d items, want %d", len(st.Items), len(tc.items))
				}
				for n, it := range st.Items {
					if it.Status != "failed" || !strings.HasPrefix(it.Error, "cancelled: step boom failed") {
						t.Errorf("item %d %s (%q), want failed as cancelled", n, it.Status, it.Error)
					}
				}
				mu.Lock()
				defer mu.Unlock()
				// Not even tried: the abort cancelled the step's context too,
				// so a release asked for here would fail and keep the slot
				// by accident; the step's Why would then say it could not
				// be released.
				if g := st.Guardrail; len(releases) != 0 || (g != nil && (g.Released || strings.Contains(g.Why, "releas"))) {
					t.Errorf("slot released for a cancelled contain call, which may have reached the vendor: %+v, %+v", releases, g)
				}
				// The workflow knows the allow (and so could release) when
				// the check was made on its own: before revision 4, and for
				// for_each. A cancelled call that checked inside returns no
				// decision: its slot stays counted all the same.
				if (rev < workflows.RevGuardInCall || len(tc.items) > 1) && (st.Guardrail == nil || st.Guardrail.Rule != "budget") {
					t.Errorf("guardrail %+v, want the budget's allow on the step", st.Guardrail)
				}
			})
		})
	}
}

// budgetCheck answers every guardrail check: allowed, counted against budget.
func budgetCheck(budget *policy.Budget) func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
	return func(context.Context, workflows.PolicyCheck) (policy.Decision, error) {
		return policy.Decision{Decision: policy.Allow, Rule: "budget", Budget: budget, Why: "budget: 1 of 5 used"}, nil
	}
}

// budgetReleases records the budget slot releases a run asks for.
type budgetReleases struct {
	mu   sync.Mutex
	list []workflows.ReleaseRequest
}

func recordBudgetReleases(h *harness) *budgetReleases {
	b := &budgetReleases{}
	h.env.RegisterActivityWithOptions(func(_ context.Context, r workflows.ReleaseRequest) (bool, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.list = append(b.list, r)
		return true, nil
	}, activity.RegisterOptions{Name: workflows.ActivityBudgetRelease})
	return b
}

func (b *budgetReleases) all() []workflows.ReleaseRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]workflows.ReleaseRequest(nil), b.list...)
}
