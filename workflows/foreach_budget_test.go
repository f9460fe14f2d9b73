package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// The finding is withdrawn while the first item of an automatic for_each
// contain step is being retried; that item then fails for good and the
// others are skipped as withdrawn (withdraw-stops-items). No containment
// was applied, so the step's budget slot is given back.
func TestForEachWithdrawnItemsGiveBudgetBack(t *testing.T) {
	budget := &policy.Budget{Action: "crowdstrike.contain_host", Max: 5, Per: time.Hour}
	h := newHarness(t)
	check := budgetCheck(budget)
	h.env.RegisterActivityWithOptions(check, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
	releases := recordBudgetReleases(h)
	h.action("crowdstrike.contain_host", func(context.Context, catalog.Call) (map[string]any, error) {
		return nil, temporal.NewApplicationError("503 from the vendor", "Unavailable")
	})
	h.action("crowdstrike.lift_containment", func(context.Context, catalog.Call) (map[string]any, error) { return nil, nil })
	h.withdrawAfter(30 * time.Minute)
	src := strings.Replace(forEachContain, "approval: auto", "approval: auto\n    concurrency: 1\n    retry: {max_attempts: 2, initial_interval: 1h}", 1)
	res, _ := h.run(compileYAML(t, src), det)
	if res == nil {
		t.Fatal("no result")
	}
	st := stepOf(res, "isolate")
	if len(st.Items) != 2 || st.Items[0].Status != "failed" || st.Items[1].Status != "skipped" {
		t.Fatalf("items %+v", st.Items)
	}
	if g := st.Guardrail; len(releases.all()) != 1 || g == nil || !g.Released {
		t.Errorf("no item contained anything (one failed, one withdrawn before its call): releases %+v, guardrail %+v; want the slot given back", releases.all(), g)
	}
}
