package slackapp

import (
	"encoding/json"
	"fmt"
)

// Action ids of the approval message's buttons. A click arrives as a
// block_actions payload carrying one of them.
const (
	ActionApprove       = "riposte_approve"
	ActionDeny          = "riposte_deny"
	ActionApproveReason = "riposte_approve_reason" // opens the reason modal
	ActionDenyReason    = "riposte_deny_reason"    // shown when a denial needs a reason
)

// The reason modal: its callback_id and the ids of its input.
const (
	ReasonModalCallbackID = "riposte_reason"
	ReasonBlockID         = "riposte_reason"
	ReasonActionID        = "riposte_reason_input"
)

// Block ids of the approval message. They are stable across updates so
// clients and tests can find each part.
const (
	BlockHeader    = "riposte_header"
	BlockAction    = "riposte_action"
	BlockDetection = "riposte_detection"
	BlockWhy       = "riposte_why"
	BlockStatus    = "riposte_status"
	BlockOutcome   = "riposte_outcome"
	BlockReasons   = "riposte_reasons"
	BlockLink      = "riposte_link"
	BlockRun       = "riposte_run"
	BlockButtons   = "riposte_actions"
)

// Attachment colours.
const (
	ColorCritical = "#D0021B" // severity_id 5-6, and denials
	ColorHigh     = "#F5A623" // 4
	ColorMedium   = "#F8E71C" // 3
	ColorLow      = "#9B9B9B" // anything else, timeouts, escalations
	ColorApproved = "#2EB67D"
)

// Reason policies (GateRequest.Reason), as the playbook spells them.
const (
	reasonRequired = "required"
	reasonOnDeny   = "on_deny"
)

// GateRef names a gate from a button value (w, g, ts) or from the reason
// modal's private_metadata (all fields). It is JSON with short keys to stay
// well within Slack's limits.
type GateRef struct {
	WorkflowID string `json:"w"`
	GateID     string `json:"g"`
	MessageTS  string `json:"ts,omitempty"`
	// RunID is the run that posted the message: a click decides for it
	// (Decision.RunID), so a click on an ended run's message never counts
	// in a later run of the same workflow id (a reopened finding). Empty on
	// buttons posted before it existed: the running run, as then.
	RunID string `json:"r,omitempty"`
	// Modal only.
	Channel string `json:"c,omitempty"`
	Approve bool   `json:"a,omitempty"`
}

// Encode returns the compact JSON form.
func (r GateRef) Encode() string {
	b, _ := json.Marshal(r) // only strings and a bool: cannot fail
	return string(b)
}

// ParseGateRef decodes a button value or private_metadata.
func ParseGateRef(s string) (GateRef, error) {
	var r GateRef
	if len(s) > MaxPrivateMeta {
		return r, fmt.Errorf("gate reference is %d bytes, more than %d", len(s), MaxPrivateMeta)
	}
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return r, fmt.Errorf("gate reference is not valid JSON: %v", err)
	}
	if r.WorkflowID == "" || r.GateID == "" {
		return r, fmt.Errorf("gate reference lacks the workflow or gate id")
	}
	return r, nil
}
