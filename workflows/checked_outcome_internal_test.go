package workflows

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/policy"
)

// How a checked call's final failure is read, as the SDK hands it to the
// workflow (an activity failure around the server's failure).
func TestCheckedCallOutcome(t *testing.T) {
	app := func(typ string, details ...any) *failurepb.Failure {
		info := &failurepb.ApplicationFailureInfo{Type: typ}
		if len(details) > 0 {
			p, err := converter.GetDefaultDataConverter().ToPayloads(details...)
			if err != nil {
				t.Fatal(err)
			}
			info.Details = p
		}
		return &failurepb.Failure{Message: "attempt failed", FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: info}}
	}
	// The server gives the last attempt's timeout the previous attempt's
	// failure as its cause (ActivityInfo.RetryLastFailure).
	timeout := func(cause *failurepb.Failure) *failurepb.Failure {
		return &failurepb.Failure{Message: "activity Heartbeat timeout", Cause: cause,
			FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{TimeoutType: enumspb.TIMEOUT_TYPE_HEARTBEAT}}}
	}
	activityFailure := func(f *failurepb.Failure) error {
		return temporal.GetDefaultFailureConverter().FailureToError(&failurepb.Failure{Message: "activity error", Cause: f,
			FailureInfo: &failurepb.Failure_ActivityFailureInfo{ActivityFailureInfo: &failurepb.ActivityFailureInfo{
				ActivityType: &commonpb.ActivityType{Name: "crowdstrike.contain_host+guardrails"}, RetryState: enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED}}})
	}
	allowed := GuardDetail{Decision: policy.Decision{Decision: policy.Allow, Rule: "budget"}}
	for _, tc := range []struct {
		name    string
		err     error
		checked bool
		want    string // decision/rule, "" for none
		legacy  string // before changeCheckedCallOutcome
	}{
		{"no answer", activityFailure(app(ErrGuardrailsUnavailable)), true, "gate/guardrails_unavailable", "gate/guardrails_unavailable"},
		{"failed after allowed", activityFailure(app("RateLimited", LocalFailure{Message: "429"}, allowed)), true, "allow/budget", "allow/budget"},
		{"plain failure", activityFailure(app("NoConnection")), true, "", ""},
		{"timed out after an attempt without answer", activityFailure(timeout(app(ErrGuardrailsUnavailable))), true, "", "gate/guardrails_unavailable"},
		{"timed out after a failed allowed attempt", activityFailure(timeout(app("RateLimited", LocalFailure{Message: "429"}, allowed))), true, "allow/budget", "allow/budget"},
		{"timed out", activityFailure(timeout(nil)), true, "", ""},
		{"no worker registers the checked type", activityFailure(app("ActivityNotRegisteredError")), true, "gate/guardrails_unavailable", ""},
		{"no worker registers an unchecked type", activityFailure(app("ActivityNotRegisteredError")), false, "", ""},
	} {
		for _, legacy := range []bool{false, true} {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			if legacy {
				env.OnGetVersion(changeCheckedCallOutcome, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			env.ExecuteWorkflow(func(ctx workflow.Context) (string, error) {
				d := takeDecision(ctx, nil, tc.err, tc.checked)
				if d == nil {
					return "", nil
				}
				return d.Decision + "/" + d.Rule, nil
			})
			var got string
			if err := env.GetWorkflowResult(&got); err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if legacy {
				want = tc.legacy
			}
			if got != want {
				t.Errorf("%s (legacy %v): decision %q, want %q", tc.name, legacy, got, want)
			}
		}
	}
}
