package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// A run started inline (the playbook in its input, as --playbook-input
// inline and auto with workers of an earlier revision send it) by an
// earlier release, whose playbook that release accepted and this one
// refuses at load, still runs on a worker of this release: its input is
// compiled as a stored version is (LoadStored), not refused as BadInput. A
// worker restart replays every run in flight from its input, so a refusal
// here is a run stuck on nondeterminism with its containment never
// released. contain_for past playbook.MaxContainFor (400d) is one such
// playbook.
func TestInlineInputOfAnEarlierReleaseStillRuns(t *testing.T) {
	h, v, _ := policyHarness(t, func(workflows.PolicyCheck) policy.Decision { return policy.Decision{Decision: policy.Allow} })
	src := strings.Replace(containPlaybook, "%s", "approval: auto\n    contain_for: 400d", 1)
	if _, diags := playbook.LoadBytes("test.yaml", []byte(src), activities.Catalog()); len(diags) == 0 {
		t.Fatal("this release loads contain_for: 400d: the test needs a playbook it refuses")
	}
	c, diags := playbook.LoadStored("test.yaml", []byte(src), activities.Catalog())
	if len(diags) > 0 {
		t.Fatalf("stored version refused: %v", diags)
	}
	var errs []string
	h.extend(time.Hour, "extend", &workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(4 * time.Hour), User: "USOC"}, &errs)
	start := h.env.Now()
	res, err := h.run(c, det)
	if err != nil {
		t.Fatalf("the run of an earlier release's inline playbook failed: %v", err)
	}
	if len(errs) != 0 {
		t.Errorf("extension refused: %q", errs)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil || len(res.Holds[0].Extensions) != 1 {
		t.Fatalf("holds = %+v", res.Holds)
	}
	if got, want := res.Holds[0].ReleasedAt.Sub(start), 400*24*time.Hour+4*time.Hour; got < want || got > want+time.Minute || v.count("crowdstrike.lift_containment") != 1 {
		t.Errorf("released after %s (%d undo calls), want %s", got, v.count("crowdstrike.lift_containment"), want)
	}
}
