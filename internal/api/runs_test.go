package api

import (
	"net/http/httptest"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/workflows"
)

func TestRunFilterQuery(t *testing.T) {
	for _, tc := range []struct {
		f    RunFilter
		want string
	}{
		{RunFilter{}, "(PlaybookName IS NOT NULL OR WorkflowType = 'riposte.rollback')"},
		{RunFilter{Kind: "all"}, "(PlaybookName IS NOT NULL OR WorkflowType = 'riposte.rollback')"},
		{RunFilter{Kind: KindRollback}, "WorkflowType = 'riposte.rollback'"},
		{RunFilter{Status: "holding"}, "PlaybookName IS NOT NULL AND RunStatus = 'holding' AND ExecutionStatus = 'Running'"},
		{RunFilter{Playbook: "p", Outcome: "not_contained", Mode: "shadow"},
			"PlaybookName IS NOT NULL AND PlaybookName = 'p' AND RunMode = 'shadow' AND Outcome = 'not_contained'"},
	} {
		if err := tc.f.Validate(); err != nil {
			t.Errorf("%+v: %v", tc.f, err)
		}
		if got := tc.f.Query(); got != tc.want {
			t.Errorf("%+v: query %q, want %q", tc.f, got, tc.want)
		}
	}
}

func TestAPIRunsRefusesUnknownFilters(t *testing.T) {
	h := newTestServer(t, &fakeStarter{}).Handler()
	for q, detail := range map[string]string{
		"status=bogus": "status \"bogus\" is not one of running, waiting_approval, holding, succeeded, failed, terminated, timed_out, canceled",
		"outcome=fine": "outcome \"fine\" is not one of contained, partially_contained, not_contained, no_containment, withdrawn, failed",
		"kind=rollbak": "kind \"rollbak\" is not one of playbook, rollback, all",
	} {
		r := httptest.NewRequest("GET", "/v1/runs?"+q, nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		checkProblem(t, serve(h, r), problem.Problem{Title: "Bad filter", Status: 400, Detail: detail})
	}
}

func TestSummaryReadsOutcomeHoldsAndRollbacks(t *testing.T) {
	s := &Server{Namespace: "default"}
	dc := converter.GetDefaultDataConverter()
	p := func(v any) *commonpb.Payload {
		pl, err := dc.ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	until := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	at := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	run := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "det-1/pb", RunId: "r1"},
		Type:      &commonpb.WorkflowType{Name: workflows.PlaybookWorkflow},
		StartTime: timestamppb.New(at.Add(-time.Hour)),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			"PlaybookName": p("pb"), "RunStatus": p("holding"), "Outcome": p("not_contained"), "HoldUntil": p(until),
		}},
	}
	sum := s.summary(run)
	if sum.Kind != KindPlaybook || sum.Outcome != "not_contained" || sum.HoldUntil == nil || !sum.HoldUntil.Equal(until) || sum.Playbook != "pb" {
		t.Errorf("summary = %+v", sum)
	}
	rb := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "rollback:det-1/pb", RunId: "r2"},
		Type:      &commonpb.WorkflowType{Name: workflows.RollbackWorkflow},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		StartTime: timestamppb.New(at),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			"RolledBackBy": p("UALICE"),
		}},
	}
	rsum := s.summary(rb)
	if rsum.Kind != KindRollback || rsum.Mode != "" || rsum.RollbackOf != "det-1/pb" || rsum.RequestedBy != "UALICE" || rsum.Status != workflows.RunRunning {
		t.Errorf("rollback summary = %+v", rsum)
	}
	list := []RunSummary{rsum, sum}
	markRolledBack(list)
	if list[1].RolledBackBy != "UALICE" || list[1].RolledBackAt == nil || !list[1].RolledBackAt.Equal(at) {
		t.Errorf("original not marked rolled back: %+v", list[1])
	}
}
