package workflows

import (
	"strconv"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Search attribute keys Riposte sets on every run. They must be registered
// on the namespace before a worker starts (see SearchAttributeTypes).
var (
	SAPlaybookName      = temporal.NewSearchAttributeKeyKeyword("PlaybookName")
	SAPlaybookVersion   = temporal.NewSearchAttributeKeyInt64("PlaybookVersion")
	SADetectionID       = temporal.NewSearchAttributeKeyKeyword("DetectionID")
	SADetectionSeverity = temporal.NewSearchAttributeKeyKeyword("DetectionSeverity")
	SADetectorModel     = temporal.NewSearchAttributeKeyKeyword("DetectorModel")
	SARunStatus         = temporal.NewSearchAttributeKeyKeyword("RunStatus")
	SAApprovalState     = temporal.NewSearchAttributeKeyKeyword("ApprovalState")
	SARunMode           = temporal.NewSearchAttributeKeyKeyword("RunMode")
	// SAOutcome is what a finished run achieved (see Outcomes).
	SAOutcome = temporal.NewSearchAttributeKeyKeyword("Outcome")
	// SAHoldUntil is the earliest release time of the run's active
	// time-boxed containments (contain_for); unset when none is active.
	SAHoldUntil = temporal.NewSearchAttributeKeyTime("HoldUntil")
	// SARolledBackBy and SARolledBackAt mark a run whose containment was
	// rolled back (riposte rollback): who asked, and when.
	SARolledBackBy = temporal.NewSearchAttributeKeyKeyword("RolledBackBy")
	SARolledBackAt = temporal.NewSearchAttributeKeyTime("RolledBackAt")
)

// SearchAttributeTypes lists the custom search attributes to register.
func SearchAttributeTypes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		"PlaybookName":      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"PlaybookVersion":   enumspb.INDEXED_VALUE_TYPE_INT,
		"DetectionID":       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"DetectionSeverity": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"DetectorModel":     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"RunStatus":         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"ApprovalState":     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"RunMode":           enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"Outcome":           enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"HoldUntil":         enumspb.INDEXED_VALUE_TYPE_DATETIME,
		"RolledBackBy":      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"RolledBackAt":      enumspb.INDEXED_VALUE_TYPE_DATETIME,
	}
}

// PendingApprovalsQuery is the visibility query for runs waiting for a
// human decision: the interpreter sets RunStatus to waiting_approval while
// a gate is pending or escalated (riposte_approvals_pending counts them).
func PendingApprovalsQuery() string {
	return PlaybookRunsQuery + ` AND ExecutionStatus = "Running" AND ` + SARunStatus.GetName() + " = " + strconv.Quote(RunWaiting)
}
