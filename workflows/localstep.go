package workflows

import (
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// LocalFailure carries the message of a local step's failure in the
// error's details, which are encrypted like every payload: the SDK writes
// a local activity's failure message into its marker without the codec's
// failure encoding, so the message itself must say nothing secret (see
// engine's local failure interceptor).
type LocalFailure struct {
	Message string `json:"message"`
}

// Execution models, recorded by the ChangeOutcomes version marker.
const (
	// ModelLocalSteps runs short steps as local activities (LocalStep).
	ModelLocalSteps = 2
	// LocalStepTimeout is a local step's time per attempt when the step
	// sets none (a regular activity's default is DefaultStepTimeout).
	LocalStepTimeout = time.Minute
	// LocalStepMaxTimeout is the longest timeout a step may set and still
	// run as a local activity.
	LocalStepMaxTimeout = time.Minute
)

// LocalStep decides whether a step of a run at revision rev (Input.Rev)
// runs as a local activity, inside the workflow task that reaches it (no
// activity task round trip through the server; one marker event instead of
// three), or as a regular activity. A local activity runs in the worker
// that runs the workflow task: if that worker dies, the workflow task is
// retried elsewhere and the call runs again, its attempts are not listed
// as pending activities, and it cannot heartbeat. So regular activities
// keep:
//   - contain steps (risk contain): changes to the environment, exactly
//     once under worker loss, with their heartbeat timeout;
//   - actions that need progress kept between attempts in heartbeat
//     details (catalog Action.Progress: slack.post_message), and, in runs
//     before RevLocalRecoverable, also those whose progress is optional
//     (Action.ProgressOptional: jira.create_issue);
//   - long steps: a timeout over LocalStepMaxTimeout.
//
// Everything else — read and notify actions and core.* — runs local.
func LocalStep(cs *playbook.CStep, rev int) bool {
	a := cs.Action
	if a == nil || a.Risk == catalog.RiskContain {
		return false
	}
	if a.Progress && (!a.ProgressOptional || rev < RevLocalRecoverable) {
		return false
	}
	return cs.Timeout.D() <= LocalStepMaxTimeout
}
