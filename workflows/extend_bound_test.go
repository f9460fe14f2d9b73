package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// The run refuses an extension out of bounds itself (the API refuses it
// first): longer than playbook.MaxContainFor (365d) at a time, as sent
// sealed by an API of an earlier release during an upgrade; a negative one
// does not even decode (playbook.Duration).
// The release stays at 4h. A refused Update is not in the history, so
// runs replay as they ran.
func TestExtendOutOfBoundsRefusedByTheRun(t *testing.T) {
	h, v, _ := policyHarness(t, func(workflows.PolicyCheck) policy.Decision { return policy.Decision{Decision: policy.Allow} })
	var errs []string
	h.extend(time.Hour, "negative", &workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(-4 * time.Hour), User: "USOC"}, &errs)
	h.extend(time.Hour+time.Minute, "too-long", &workflows.ExtendRequest{Step: "isolate", By: playbook.MaxContainFor + playbook.Duration(time.Hour), User: "USOC"}, &errs)
	h.extend(time.Hour+2*time.Minute, "saturated", &workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(2562047 * time.Hour), User: "USOC"}, &errs)
	start := h.env.Now()
	res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", "approval: auto\n    contain_for: 4h", 1)), det)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 3 || !strings.Contains(errs[0], "positive") || !strings.Contains(errs[1], "longer than 365d") || !strings.Contains(errs[2], "longer than 365d") {
		t.Errorf("refusals = %q", errs)
	}
	if len(res.Holds) != 1 || len(res.Holds[0].Extensions) != 0 || res.Holds[0].ReleasedAt == nil {
		t.Fatalf("holds = %+v", res.Holds)
	}
	if got := res.Holds[0].ReleasedAt.Sub(start); got > 4*time.Hour+time.Minute || v.count("crowdstrike.lift_containment") != 1 {
		t.Errorf("released after %s (%d undo calls), want 4h", got, v.count("crowdstrike.lift_containment"))
	}
}
