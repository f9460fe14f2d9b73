package pbtest

import (
	"time"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/workflows"
)

// File is a decoded test file (NAME.test.yaml).
type File struct {
	// Path is the test file as given.
	Path string
	// Playbook is `playbook:` as written: a playbook name, a path relative
	// to the test file, or "" for the sibling NAME.yaml.
	Playbook string
	// Groups maps Slack user-group ids to their members, used to resolve
	// the approvers of gates that name groups.
	Groups map[string][]string
	// ApprovalDefaults are the site's approval defaults (riposte.yaml), for
	// gates that name no approvers of their own.
	ApprovalDefaults workflows.ApprovalDefaults
	Cases            []*Case

	src []byte // the source, for caret snippets of Check's diagnostics

	playbookNode *yaml.Node
}

// Case is one scenario: a detection, the world's answers (stubs and
// approvals), and what the run must look like.
type Case struct {
	// Index is the case's position in the file (0-based).
	Index int
	Name  string
	// Detection is the detection after patch, checked against the
	// detection contract.
	Detection map[string]any
	// DetectionFile is the file the detection came from ("" when inline).
	DetectionFile string
	Requester     string
	DryRun        bool
	// Stubs and Approvals are keyed by step id.
	Stubs     map[string]*Stub
	Approvals map[string]*Approval
	Expect    Expect

	node     *yaml.Node
	stubKeys []*yaml.Node // in file order
	apprKeys []*yaml.Node
}

// Stub is a stubbed action result. Exactly one of Output, Error, Attempts
// or Items is set (Output may be an empty mapping).
type Stub struct {
	Output    map[string]any
	Error     string
	Retryable bool
	// Attempts answers attempt n (1-based) with Attempts[n-1]; attempts
	// past the end get the last entry.
	Attempts []*Stub
	// Items answers for_each item i with Items[i]; items past the end get
	// the action's default answer.
	Items []*Stub

	hasOutput  bool
	node       *yaml.Node
	outputNode *yaml.Node
	itemsNode  *yaml.Node
	attNode    *yaml.Node
}

// Approval scripts the people deciding one gate.
type Approval struct {
	// Votes are cast in order, the first After the gate opens, then one a
	// second.
	Votes []Vote
	// Timeout: nobody answers, the gate's on_timeout applies.
	Timeout bool
	// After is how long after the gate opens the first vote is cast
	// (default 1s).
	After time.Duration

	node *yaml.Node
}

// Vote is one decision.
type Vote struct {
	User    string
	Approve bool
	Reason  string
	// Refused, when set, says the gate must refuse this vote with a
	// message containing it (e.g. the requester approving their own run).
	Refused string
}

// Expect is what a case's run must look like. Unset fields are not checked.
type Expect struct {
	// Triggered false says trigger.when must be false for the detection
	// (nothing runs); nothing else may then be expected.
	Triggered *bool
	// Status is the run status: succeeded or failed.
	Status string
	// Error is a substring of the run's error.
	Error string
	// Outcome is the run's outcome (workflows.Outcomes); OutcomeDetail a
	// substring of its detail ("isolate denied by U0SOCLEAD1").
	Outcome       string
	OutcomeDetail string
	// Steps are step expectations, in file order.
	Steps []*StepExpect
	// Ran, when HasRan, lists exactly the steps whose action was called.
	Ran    []string
	HasRan bool
	// Outputs are subset matches of the run's outputs, in file order.
	Outputs []NamedValue

	ranNodes []*yaml.Node
	outNodes []*yaml.Node
}

// NamedValue is one expected output.
type NamedValue struct {
	Name  string
	Value any
}

// StepExpect is what one step must look like.
type StepExpect struct {
	ID     string
	Status string
	// Reason is a substring of the step's reason (why it was skipped,
	// denied or timed out).
	Reason string
	CallExpect
	// Attempts, when set, is the number of times the action was called
	// (all items of a for_each step together).
	Attempts *int
	Gate     *GateExpect
	// Items, when HasItems, are the for_each iterations, one per item.
	Items    []*ItemExpect
	HasItems bool

	node     *yaml.Node
	gateNode *yaml.Node
	itemNode *yaml.Node
}

// GateExpect is what a step's approval gate must look like.
type GateExpect struct {
	// None: the step must have had no gate.
	None      bool
	State     string
	Approvers []string // nil = not checked
	By        string
	Escalated *bool
}

// ItemExpect is what one for_each iteration must look like.
type ItemExpect struct {
	Status string
	CallExpect
	Attempts *int
}

// CallExpect is what a step and a for_each item both expect of their
// action call: Error is a substring of the error; Params and Output are
// subset matches (see the package docs).
type CallExpect struct {
	Error                string
	Params, Output       any
	HasParams, HasOutput bool
}
