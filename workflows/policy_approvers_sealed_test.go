package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// TestUnavailableGateTakesPolicyApprovers as a production worker runs it:
// the policy check is a local activity, and the worker's localFailures
// interceptor (engine.SealLocalFailure) replaces a local activity's failure
// details with a LocalFailure. The UnavailableDetail that names
// policy.yaml's approvers does not survive, so the guardrails_unavailable
// gate would fall back to the playbook's approver (USOC releases the step the
// policy reserves to USECLEAD), and its reason reads only "GuardrailsUnavailable
// (message encrypted…)". It fails at the revisions where the separate
// check runs (before RevGuardInCall: CurrentRev, the inline playbook input
// of serve's playbook_input: inline and of mixed-release workers).
// Unsealed (the test environment's local activities), too.
func TestUnavailableGateTakesPolicyApproversOnSealingWorker(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sealed=%v", sealed), func(t *testing.T) { unavailableGateApprovers(t, sealed) })
	}
}

func unavailableGateApprovers(t *testing.T, sealed bool) {
	forRevs(t, func(t *testing.T, rev int) {
		h := newHarness(t)
		h.rev = rev
		fail := func(ctx context.Context, _ workflows.PolicyCheck) (policy.Decision, error) {
			err := workflows.NewUnavailable("guard unreachable", []string{"USECLEAD"})
			if sealed && activity.GetInfo(ctx).IsLocalActivity {
				// What engine's worker interceptor does to every local
				// activity failure.
				// Its details travel encoded in the marker, as on a worker.
				fc := temporal.GetDefaultFailureConverter()
				return policy.Decision{}, fc.FailureToError(fc.ErrorToFailure(engine.SealLocalFailure(err)))
			}
			return policy.Decision{}, err
		}
		v := &vendorFake{check: fail}
		v.register(h.env, "crowdstrike.contain_host")
		f := &gateFake{}
		f.register(h.env)
		h.env.RegisterActivityWithOptions(fail, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})
		var soc, lead string
		h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "USOC"}, &soc)
		h.vote(2*time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "USECLEAD"}, &lead)
		res, err := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s",
			"approval: auto\n    retry: {max_attempts: 2, initial_interval: 100ms}", 1)), det)
		if err != nil || res == nil {
			t.Fatalf("run: %v", err)
		}
		if len(res.Gates) != 1 || len(res.Gates[0].Approvers) != 1 || res.Gates[0].Approvers[0] != "USECLEAD" || soc == "" {
			t.Errorf("gate approvers %v, USOC (playbook approver) vote refusal %q, USECLEAD vote refusal %q: the guardrails_unavailable gate the policy forced went to the playbook's approver",
				gateApprovers(res), soc, lead)
		}
		if st := stepOf(res, "isolate"); st.Guardrail != nil && strings.Contains(st.Guardrail.Why, "message encrypted") {
			t.Errorf("guardrail reason %q: the check's message was lost", st.Guardrail.Why)
		}
	})
}

func gateApprovers(res *workflows.Result) []string {
	if len(res.Gates) == 0 {
		return nil
	}
	return res.Gates[0].Approvers
}
