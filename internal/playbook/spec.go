// Package playbook defines the riposte/v1 playbook format: parsing YAML with
// positions, validating everything at once like a compiler, and compiling
// the expressions once so runs reuse them.
package playbook

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// APIVersion is the only playbook format version this build reads.
const APIVersion = "riposte/v1"

// Step statuses, as seen in expressions (`steps.x.status`) and results.
// They are the one definition of statuses: a run's status (workflows.Run*)
// and the status label of metrics (internal/telemetry) use these.
const (
	StatusPending   = "pending"
	StatusWaiting   = "waiting_approval"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
	StatusDenied    = "denied"
	StatusTimedOut  = "timed_out"
	// StatusCanceled is an action attempt or a run that was canceled
	// (metrics; a step of a canceled run keeps its last status).
	StatusCanceled = "canceled"
	// StatusHolding is a run whose containments wait for their release
	// (contain_for).
	StatusHolding = "holding"
)

// Failure policies.
const (
	OnWithdrawReview   = "review"
	OnWithdrawRollback = "rollback"
	OnFailureAbort     = "abort"
	OnFailureContinue  = "continue"
)

// Modes. A playbook declares live (the default) or shadow; a run is live,
// shadow, or dry_run when the submitter asked for one. They are also the
// values of the RunMode search attribute.
const (
	ModeLive   = "live"
	ModeShadow = "shadow"
	ModeDryRun = "dry_run"
)

// Playbook is a parsed riposte/v1 playbook. It is plain data so it can travel
// as workflow input; expressions stay as source and are compiled by Compile.
type Playbook struct {
	APIVersion  string `json:"apiVersion"`
	Name        string `json:"name"`
	Version     int    `json:"version"`
	Description string `json:"description,omitempty"`
	Owner       string `json:"owner,omitempty"`
	Mode        string `json:"mode,omitempty"`
	// OnWithdraw is review (default) or rollback: what happens to applied
	// containment when the detector withdraws the finding.
	OnWithdraw string   `json:"on_withdraw,omitempty"`
	Trigger    Trigger  `json:"trigger"`
	Vars       []Var    `json:"vars,omitempty"`
	Steps      []Step   `json:"steps"`
	Outputs    []Output `json:"outputs,omitempty"`

	// File is where the playbook was read from (for messages only).
	File string `json:"file,omitempty"`
	pos  positions
	src  []byte // the YAML source, to place expression errors precisely
	// stored is set for a version already kept in a playbook store
	// (LoadStored): the refusals that only guard authoring are not applied.
	stored bool
}

// Trigger decides which detections start the playbook.
type Trigger struct {
	When string `json:"when"`
}

// Var is one named value computed once at the start of a run.
type Var struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// Output is one named result of a run.
type Output struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// Step is one node of the playbook's DAG.
type Step struct {
	ID          string         `json:"id"`
	Name        string         `json:"name,omitempty"`
	Action      string         `json:"action"`
	With        map[string]any `json:"with,omitempty"`
	Needs       []string       `json:"needs,omitempty"`
	If          string         `json:"if,omitempty"`
	ForEach     any            `json:"for_each,omitempty"`
	Concurrency int            `json:"concurrency,omitempty"`
	Timeout     Duration       `json:"timeout,omitempty"`
	Retry       *Retry         `json:"retry,omitempty"`
	OnFailure   string         `json:"on_failure,omitempty"`
	// Always runs the step whatever happened upstream (see fields.go).
	Always     bool      `json:"always,omitempty"`
	Approval   *Approval `json:"approval,omitempty"`
	ContainFor Duration  `json:"contain_for,omitempty"`
}

// Title is the step's display name: its name, or its id.
func (s *Step) Title() string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

// Retry is a step's retry policy.
type Retry struct {
	MaxAttempts     int      `json:"max_attempts,omitempty"`
	InitialInterval Duration `json:"initial_interval,omitempty"`
	Backoff         float64  `json:"backoff,omitempty"`
	MaxInterval     Duration `json:"max_interval,omitempty"`
}

// Approval is a step's human gate. `approval: auto` sets Auto.
type Approval struct {
	Auto       bool        `json:"auto,omitempty"`
	If         string      `json:"if,omitempty"`
	Approvers  Approvers   `json:"approvers,omitempty"`
	Quorum     int         `json:"quorum,omitempty"`
	Timeout    Duration    `json:"timeout,omitempty"`
	OnTimeout  string      `json:"on_timeout,omitempty"`
	EscalateTo *Escalation `json:"escalate_to,omitempty"`
	Reason     string      `json:"reason,omitempty"`
	Channel    string      `json:"channel,omitempty"`
}

// Approvers names who may decide: Slack user ids and user-group ids.
type Approvers struct {
	Users  []string `json:"users,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

// Escalation is who decides after the first approvers time out.
type Escalation struct {
	Users   []string `json:"users,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	Timeout Duration `json:"timeout,omitempty"`
	// Quorum is the distinct approvals the escalation needs (0 = 1); the
	// first round's approvals do not count towards it.
	Quorum int `json:"quorum,omitempty"`
}

// Approval timeout policies and reason policies.
const (
	OnTimeoutDeny     = "deny"
	OnTimeoutApprove  = "approve"
	OnTimeoutEscalate = "escalate"

	ReasonRequired = "required"
	ReasonOnDeny   = "on_deny"
	ReasonOptional = "optional"
)

// Step returns the step with the id.
func (p *Playbook) Step(id string) (*Step, bool) {
	for i := range p.Steps {
		if p.Steps[i].ID == id {
			return &p.Steps[i], true
		}
	}
	return nil, false
}

var (
	durationRe = regexp.MustCompile(durationPattern)
	zeroRe     = regexp.MustCompile(zeroPattern)
	// bareZeroRe is zero written without a unit (0, -0, 00), which
	// time.ParseDuration takes as 0 ("0") or refuses as missing a unit.
	bareZeroRe = regexp.MustCompile(`^-?0+(\.0+)?$`)
)

// isZeroDuration reports a duration written as zero, with a unit (0s, 0d,
// -0h) or without (0).
func isZeroDuration(s string) bool {
	return zeroRe.MatchString(strings.TrimPrefix(s, "-")) || bareZeroRe.MatchString(s)
}

// zeroHold is the error for a hold duration (contain_for, an extension)
// written as zero: what is wrong and what is allowed.
func zeroHold(s string) error {
	return fmt.Errorf("%q is zero: give a positive duration such as 4h (at most %s)", s, MaxContainFor)
}

// Duration is a time.Duration written as "30s", "2m", "4h" or "1d".
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string {
	if d == 0 {
		return "0s"
	}
	td := time.Duration(d)
	if td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	// time.Duration prints 2m as "2m0s" and 4h as "4h0m0s"; drop the zero
	// units, but only whole ones ("30s" and "1m30s" keep their seconds).
	s := td.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string (or nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration must be a string like \"30s\": %w", err)
		}
		*d = Duration(n)
		return nil
	}
	if s == "0s" { // what MarshalJSON writes for the zero duration
		*d = 0
		return nil
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MaxContainFor is the longest time box: the longest contain_for a playbook
// may set, and the longest one extension (riposte extend, POST
// /v1/runs/{id}/extend) may add. A containment held longer is re-confirmed
// by a human extending it again; one meant to stay has no contain_for.
const MaxContainFor = Duration(365 * 24 * time.Hour)

// ParseExtension reads the duration of an extension: a positive duration of
// at most MaxContainFor. Its error says what is wrong (negative, zero, too
// large, not a duration) and quotes s; callers prefix the field.
func ParseExtension(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	d, err := ParseDuration(s)
	switch {
	case err != nil && isZeroDuration(s):
		return 0, zeroHold(s)
	case strings.HasPrefix(s, "-") && (err == nil || durationRe.MatchString(s[1:])):
		return 0, fmt.Errorf("%q is negative: an extension moves the release later, by a positive duration such as 4h (at most %s)", s, MaxContainFor)
	case err == nil && d > MaxContainFor, err != nil && durationRe.MatchString(s):
		// A written duration that does not parse is past what a Go
		// duration holds (about 292 years).
		return 0, fmt.Errorf("%q is longer than %s, the longest extension: extend again before it falls due if the containment is still needed", s, MaxContainFor)
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration; use e.g. 30m, 4h or 2d (at most %s)", s, MaxContainFor)
	}
	return d, nil
}

// ParseDuration reads "90s", "2m", "1h30m", "4h" or "2d". Durations must be
// positive.
func ParseDuration(s string) (Duration, error) { return parseDuration(s, true) }

// parseDuration is ParseDuration; written false also takes the forms
// time.ParseDuration takes ("+5m", ".5h"), as releases before 2026-12-06
// did: a stored version written so keeps its durations (LoadStored).
func parseDuration(s string, written bool) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > int(time.Duration(math.MaxInt64)/(24*time.Hour)) {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 30s, 5m, 4h, 2d)", s)
		}
		if n <= 0 {
			return 0, fmt.Errorf("duration %q must be positive", s)
		}
		if written && !durationRe.MatchString(s) { // +2d
			return 0, fmt.Errorf("invalid duration %q (want e.g. 30s, 5m, 4h, 2d)", s)
		}
		return Duration(time.Duration(n) * 24 * time.Hour), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 30s, 5m, 4h, 2d)", s)
	}
	if v <= 0 {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	// Only the written forms (those of the JSON Schema): time.ParseDuration
	// alone also takes "+5m", ".5h" and "5.m".
	if written && !durationRe.MatchString(s) {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 30s, 5m, 4h, 2d)", s)
	}
	return Duration(v), nil
}
