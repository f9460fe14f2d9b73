package playbook

// The field tables below are the single definition of the riposte/v1 format:
// the decoder checks keys, required fields and types against them, and the
// JSON Schema for editors is generated from them (see schema.go).

import "github.com/riposte-dev/riposte/internal/identity"

type kind int

const (
	kString     kind = iota
	kInt             // integer
	kNumber          // integer or float
	kDuration        // "30s", "5m", "4h", "2d"
	kExprBool        // expr, must be bool
	kExprMap         // ordered mapping name -> expr
	kStringList      // list of strings
	kAnyMap          // step params: mapping of any values, with ${{ }}
	kForEach         // ${{ expr }} string or a literal list
	kObject          // nested object (obj set)
	kStepList        // list of steps
	kApproval        // "auto" or an approval object
	kBool            // true or false
)

type field struct {
	name     string
	kind     kind
	required bool
	doc      string
	enum     []string
	pattern  string // for a kStringList, each item's (checked by the parser's list readers)
	min      int    // for ints; 0 = no minimum
	max      int    // for ints; 0 = no maximum
	obj      *object
}

type object struct {
	name   string
	doc    string
	fields []field
}

func (o *object) field(name string) (field, bool) {
	for _, f := range o.fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

func (o *object) names() []string {
	out := make([]string, len(o.fields))
	for i, f := range o.fields {
		out[i] = f.name
	}
	return out
}

const (
	namePattern   = `^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`
	stepIDPattern = `^[a-z][a-z0-9_]*$`
	identPattern  = `^[A-Za-z_][A-Za-z0-9_]*$`
	// Approvers: Slack user ids and user group ids (identity's shapes).
	slackUserPattern  = identity.SlackUserPattern
	slackGroupPattern = identity.SlackGroupPattern
)

// Upper bounds of the integer fields: Temporal holds attempts in an int32,
// versions travel as JSON numbers (exact to 2^53), and a quorum or a
// parallelism beyond these is a typo, not a policy.
const (
	maxAttempts    = 1000
	maxQuorum      = 100
	maxConcurrency = 100
	maxVersion     = 1<<53 - 1
)

// format is the whole riposte/v1 format, built once by newFormat.
type format struct {
	playbook, trigger, step, retry, approval, approvers, escalation *object
}

func newFormat() *format {
	f := &format{}
	f.trigger = &object{name: "trigger", doc: "Which detections start this playbook.", fields: []field{
		{name: "when", kind: kExprBool, required: true, doc: "expr over `detection`; true starts a run."},
	}}
	f.retry = &object{name: "retry", doc: "Retry policy for each attempt of the step's action.", fields: []field{
		{name: "max_attempts", kind: kInt, min: 1, max: maxAttempts, doc: "Attempts in all, including the first (default 3, at most 1000)."},
		{name: "initial_interval", kind: kDuration, doc: "Wait before the first retry (default 1s)."},
		{name: "backoff", kind: kNumber, min: 1, doc: "Multiplier for each further wait (default 2.0, at least 1)."},
		{name: "max_interval", kind: kDuration, doc: "Longest wait between attempts (default 1m)."},
	}}
	f.approvers = &object{name: "approvers", doc: "Who may decide.", fields: []field{
		{name: "users", kind: kStringList, pattern: slackUserPattern, doc: "Slack user ids (U… or W…), each once."},
		{name: "groups", kind: kStringList, pattern: slackGroupPattern, doc: "Slack user group ids (S…), resolved when the gate opens."},
	}}
	f.escalation = &object{name: "escalate_to", doc: "Who decides once the first approvers time out (on_timeout: escalate).", fields: []field{
		{name: "users", kind: kStringList, pattern: slackUserPattern, doc: "Slack user ids (U… or W…), each once."},
		{name: "groups", kind: kStringList, pattern: slackGroupPattern, doc: "Slack user group ids (S…)."},
		{name: "timeout", kind: kDuration, doc: "How long the escalation waits before the gate is denied (default RIPOSTE_APPROVAL_TIMEOUT, else 30m)."},
		{name: "quorum", kind: kInt, min: 1, max: maxQuorum, doc: "Distinct approvals the escalation needs (default 1; the first round's votes do not count)."},
	}}
	f.approval = &object{name: "approval", doc: "Human approval gate, or `auto` to run a contain step without one.", fields: []field{
		{name: "if", kind: kExprBool, doc: "Gate only when this is true (e.g. production hosts)."},
		{name: "approvers", kind: kObject, obj: f.approvers, doc: "Who may decide."},
		{name: "quorum", kind: kInt, min: 1, max: maxQuorum, doc: "Distinct approvals needed (default 1, at most 100)."},
		{name: "timeout", kind: kDuration, doc: "How long to wait for a decision (default 30m)."},
		{name: "on_timeout", kind: kString, enum: []string{OnTimeoutDeny, OnTimeoutApprove, OnTimeoutEscalate}, doc: "What a timeout means (default deny)."},
		{name: "escalate_to", kind: kObject, obj: f.escalation, doc: "Next approvers for on_timeout: escalate."},
		{name: "reason", kind: kString, enum: []string{ReasonRequired, ReasonOnDeny, ReasonOptional}, doc: "When a decision needs a written reason (default optional)."},
		{name: "channel", kind: kString, doc: "Slack channel id for the request (default from config)."},
	}}
	f.step = &object{name: "step", doc: "One step of the playbook.", fields: []field{
		{name: "id", kind: kString, required: true, pattern: stepIDPattern, doc: "Unique snake_case id; other steps refer to it as steps.<id>."},
		{name: "name", kind: kString, doc: "Title shown in the Temporal UI and in Slack."},
		{name: "action", kind: kString, required: true, doc: "Action from the catalog (`riposte actions`)."},
		{name: "with", kind: kAnyMap, doc: "Action params; strings may hold ${{ expr }}."},
		{name: "needs", kind: kStringList, doc: "Steps that must finish first."},
		{name: "if", kind: kExprBool, doc: "Run only when true; otherwise the step is skipped."},
		{name: "for_each", kind: kForEach, doc: "Run once per element (${{ expr }} or a list); `item` and `index` are bound."},
		{name: "concurrency", kind: kInt, min: 1, max: maxConcurrency, doc: "Parallel iterations of for_each (default 4, at most 100)."},
		{name: "timeout", kind: kDuration, doc: "Limit for each attempt (default 5m)."},
		{name: "retry", kind: kObject, obj: f.retry, doc: "Retry policy."},
		{name: "on_failure", kind: kString, enum: []string{OnFailureAbort, OnFailureContinue}, doc: "abort (default) ends the run; continue carries on."},
		{name: "always", kind: kBool, doc: "Run whatever happened upstream (denied, failed, skipped steps, an aborted run), once its needs have finished; its `if` still decides. For tickets, pages, notifications."},
		{name: "approval", kind: kApproval, obj: f.approval, doc: "Human gate, or `auto`."},
		{name: "contain_for", kind: kDuration, doc: "Release the containment with its undo action after this long (at most 365d), unless extended. Not for an action whose undo is core.noop (nothing would be released)."},
	}}
	f.playbook = &object{name: "playbook", doc: "A Riposte playbook (riposte/v1).", fields: []field{
		{name: "apiVersion", kind: kString, required: true, enum: []string{APIVersion}, doc: "Always riposte/v1."},
		{name: "name", kind: kString, required: true, pattern: namePattern, doc: "Unique name, lowercase letters, digits and dashes."},
		{name: "version", kind: kInt, required: true, min: 1, max: maxVersion, doc: "Integer version, recorded with every run."},
		{name: "description", kind: kString, doc: "What the playbook is for."},
		{name: "owner", kind: kString, doc: "Team that owns it."},
		{name: "mode", kind: kString, enum: []string{ModeLive, ModeShadow}, doc: "live (default) or shadow: run on live detections but simulate every action."},
		{name: "on_withdraw", kind: kString, enum: []string{OnWithdrawReview, OnWithdrawRollback}, doc: "When the detector withdraws the finding during the run (closed, resolved, suppressed, false positive): review (default) leaves containment already applied in place, flagged for review; rollback undoes it. Either way waiting gates close as withdrawn and no further contain step starts."},
		{name: "trigger", kind: kObject, required: true, obj: f.trigger, doc: "Which detections start it."},
		{name: "vars", kind: kExprMap, doc: "Ordered name: expr, evaluated once at start; later vars may use earlier ones."},
		{name: "steps", kind: kStepList, required: true, obj: f.step, doc: "The steps (a DAG through needs)."},
		{name: "outputs", kind: kExprMap, doc: "Named results of the run: name: expr."},
	}}
	return f
}
