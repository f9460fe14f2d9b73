package telemetry_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

// telemetry does not import workflows (workflow code calls telemetry's
// helpers); these names must still agree with it.
func TestNamesAgreeWithWorkflows(t *testing.T) {
	if telemetry.DefaultPlaybookWorkflow != workflows.PlaybookWorkflow {
		t.Errorf("DefaultPlaybookWorkflow %q != workflows.PlaybookWorkflow %q", telemetry.DefaultPlaybookWorkflow, workflows.PlaybookWorkflow)
	}
	if telemetry.DefaultPlaybookAttribute != workflows.SAPlaybookName.GetName() {
		t.Errorf("DefaultPlaybookAttribute %q != %q", telemetry.DefaultPlaybookAttribute, workflows.SAPlaybookName.GetName())
	}
	q := telemetry.PendingApprovalsQuery
	for _, want := range []string{
		workflows.PlaybookRunsQuery,
		workflows.SARunStatus.GetName() + " = " + strconv.Quote(workflows.RunWaiting),
	} {
		if !strings.Contains(q, want) {
			t.Errorf("PendingApprovalsQuery %q lacks %q", q, want)
		}
	}
	if _, ok := workflows.SearchAttributeTypes()[workflows.SARunStatus.GetName()]; !ok {
		t.Error("RunStatus is not a registered search attribute")
	}
}
