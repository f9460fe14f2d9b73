package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

// README, Outcomes: "contained (every containment it attempted happened)";
// a contain step whose gate was denied or timed out is a miss named in
// outcome_detail. A run rolled back while its contain step waited at the
// gate has that gate closed and the step skipped
// (rolled-back-stops-containment), and ended "contained" with no detail:
// h2 was never contained (and h1's isolation was undone), yet the
// Outcome search attribute, runs list and metrics count it a full
// containment. The stopped step should be a miss ("contain stopped: run
// rolled back by UALICE"), so the outcome is partially_contained.
//
// Fixed: the outcome names the stopped step as a miss.
func TestRolledBackStoppedStepIsNotContained(t *testing.T) {
	h, _ := outcomeHarness(t, false)
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.action("crowdstrike.contain_host", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalRolledBack, h.sealRolledBack(workflows.RolledBack{By: "UALICE", RollbackID: "rollback:x"}))
	}, 10*time.Minute)
	res, err := h.run(compileYAML(t, holdThenGatedContain), det)
	if err != nil {
		t.Fatal(err)
	}
	if st := stepOf(res, "contain"); st.Status != "skipped" {
		t.Fatalf("step contain %s: the rollback did not stop it", st.Status)
	}
	if res.Outcome != workflows.OutcomePartiallyContained || !strings.Contains(res.OutcomeDetail, "contain stopped: run rolled back by UALICE") {
		t.Errorf("outcome %q, detail %q: the contain step stopped by the rollback never contained h2; want it named as a miss (partially_contained)", res.Outcome, res.OutcomeDetail)
	}
}
