package workflows

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

func TestComputeOutcome(t *testing.T) {
	denied := &Gate{State: GateDenied, Decision: &Decision{User: "U0SOCLEAD1"}}
	timedOut := &Gate{State: GateTimedOut}
	c := func(id, status string, g *Gate) outcomeStep {
		return outcomeStep{id: id, contain: true, status: status, gate: g}
	}
	notify := outcomeStep{id: "ticket", status: playbook.StatusSucceeded}
	cases := []struct {
		name               string
		steps              []outcomeStep
		aborted, withdrawn bool
		want, detail       string
	}{
		{"all contained", []outcomeStep{c("isolate", playbook.StatusSucceeded, nil), notify}, false, false, OutcomeContained, ""},
		{"denied", []outcomeStep{c("isolate", playbook.StatusDenied, denied), notify}, false, false, OutcomeNotContained, "isolate denied by U0SOCLEAD1"},
		{"timed out gate", []outcomeStep{c("isolate", playbook.StatusTimedOut, timedOut)}, false, false, OutcomeNotContained, "isolate approval timed out"},
		{"policy refusal", []outcomeStep{{id: "block", contain: true, status: playbook.StatusDenied, reason: "refused by policy (r1): no"}}, false, false, OutcomeNotContained, "block refused by policy (r1): no"},
		{"partial", []outcomeStep{c("isolate", playbook.StatusSucceeded, nil), c("disable", playbook.StatusDenied, denied)}, false, false, OutcomePartiallyContained, "disable denied by U0SOCLEAD1"},
		{"failed with continue", []outcomeStep{c("isolate", playbook.StatusFailed, nil)}, false, false, OutcomeNotContained, "isolate failed"},
		{"for_each partly failed", []outcomeStep{{id: "isolate", contain: true, status: playbook.StatusFailed, items: 2, itemsOK: 1}}, false, false, OutcomePartiallyContained, "isolate failed (1 of 2 items)"},
		{"for_each all failed", []outcomeStep{{id: "isolate", contain: true, status: playbook.StatusFailed, items: 2}}, false, false, OutcomeNotContained, "isolate failed"},
		{"for_each all succeeded", []outcomeStep{{id: "isolate", contain: true, status: playbook.StatusSucceeded, items: 2, itemsOK: 2}}, false, false, OutcomeContained, ""},
		{"undone in the run", []outcomeStep{{id: "suspend", contain: true, status: playbook.StatusSucceeded, undoneBy: "rollback"},
			c("clear", playbook.StatusFailed, nil), {id: "rollback", contain: true, status: playbook.StatusSucceeded, undoes: true}},
			false, false, OutcomeNotContained, "suspend undone by step rollback; clear failed"},
		{"skipped containment", []outcomeStep{c("isolate", playbook.StatusSkipped, nil), notify}, false, false, OutcomeNoContainment, ""},
		{"no contain steps", []outcomeStep{notify}, false, false, OutcomeNoContainment, ""},
		{"aborted", []outcomeStep{c("isolate", playbook.StatusSucceeded, nil)}, true, false, OutcomeFailed, ""},
		{"withdrawn wins", []outcomeStep{c("isolate", playbook.StatusSucceeded, nil)}, true, true, OutcomeWithdrawn, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, detail := computeOutcome(tc.steps, tc.aborted, tc.withdrawn)
			if got != tc.want || detail != tc.detail {
				t.Errorf("computeOutcome = %q, %q; want %q, %q", got, detail, tc.want, tc.detail)
			}
			if !ValidOutcome(got) {
				t.Errorf("%q is not in Outcomes()", got)
			}
		})
	}
	if ValidOutcome("succeeded") {
		t.Error("ValidOutcome accepts a run status")
	}
	if got := OutcomeText(OutcomeNotContained, "isolate denied by U1"); got != "not_contained: isolate denied by U1" {
		t.Errorf("OutcomeText = %q", got)
	}
}
