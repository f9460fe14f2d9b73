package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/workflows"
)

// rolledBackClient holds one playbook run, w1, that ended (contained) and
// was then rolled back by UALICE: its rollback run rollback:w1 is newer.
// A closed run's search attributes are final, so w1 itself carries no
// RolledBackBy; only rollback:w1 says who rolled it back and when. The
// listing pages newest first, one run a page, as Temporal's visibility
// does with limit=1, and honours the filters and a WorkflowId IN lookup.
type rolledBackClient struct {
	client.Client
	mu      sync.Mutex
	queries []string
}

var rolledBackAt = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

func (c *rolledBackClient) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	c.mu.Lock()
	c.queries = append(c.queries, req.GetQuery())
	c.mu.Unlock()
	dc := converter.GetDefaultDataConverter()
	attr := func(kv ...string) *commonpb.SearchAttributes {
		f := map[string]*commonpb.Payload{}
		for i := 0; i < len(kv); i += 2 {
			p, _ := dc.ToPayload(kv[i+1])
			f[kv[i]] = p
		}
		return &commonpb.SearchAttributes{IndexedFields: f}
	}
	closed := timestamppb.New(rolledBackAt.Add(time.Minute))
	run := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "w1", RunId: "r1"},
		Type:      &commonpb.WorkflowType{Name: workflows.PlaybookWorkflow},
		StartTime: timestamppb.New(rolledBackAt.Add(-time.Hour)), CloseTime: timestamppb.New(rolledBackAt.Add(-50 * time.Minute)),
		Status:           enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		SearchAttributes: attr("PlaybookName", "e2e-contain", "RunStatus", "succeeded", "Outcome", "contained"),
	}
	rb := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "rollback:w1", RunId: "r2"},
		Type:      &commonpb.WorkflowType{Name: workflows.RollbackWorkflow},
		StartTime: timestamppb.New(rolledBackAt), CloseTime: closed,
		Status:           enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		SearchAttributes: attr("RolledBackBy", "UALICE"),
	}
	q := req.GetQuery()
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	switch {
	case strings.Contains(q, "WorkflowId"):
		if strings.Contains(q, "'rollback:w1'") && strings.Contains(q, workflows.RollbackWorkflow) {
			resp.Executions = []*workflowpb.WorkflowExecutionInfo{rb}
		}
	case strings.Contains(q, "PlaybookName = "):
		resp.Executions = []*workflowpb.WorkflowExecutionInfo{run}
	case len(req.GetNextPageToken()) == 0:
		resp.Executions, resp.NextPageToken = []*workflowpb.WorkflowExecutionInfo{rb}, []byte("2")
	default:
		resp.Executions = []*workflowpb.WorkflowExecutionInfo{run}
	}
	return resp, nil
}

// README (Undo and time-boxed containment): the original run shows who
// rolled it back and when (rolled_back_by/rolled_back_at in the API, runs
// show, runs list); "a run that had already ended cannot change its search
// attributes, so the API reads the mark from its rollback run". GET
// /v1/runs read it only from a rollback run listed on the same page: with
// a playbook filter (which lists no rollback runs) or on the page after
// its rollback run (next_cursor, 96b50da), a contained run that was
// rolled back, its containment lifted, was listed as contained and not
// rolled back.
func TestRunsListShowsRollbackOfEndedRunOnEveryPage(t *testing.T) {
	for _, path := range []string{"/v1/runs?playbook=e2e-contain", "/v1/runs?limit=1"} {
		t.Run(path, func(t *testing.T) {
			c := &rolledBackClient{}
			srv := newTestServer(t, &fakeStarter{})
			srv.Temporal = c
			h := srv.Handler()
			var w1 *RunSummary
			for page := 0; page < 3 && w1 == nil; page++ {
				r := httptest.NewRequest("GET", path, nil)
				r.Header.Set("Authorization", "Bearer "+testToken)
				got := serve(h, r)
				var body RunsResponse
				if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.code != http.StatusOK {
					t.Fatalf("%s: status %d (%v): %s", path, got.code, err, got.body)
				}
				for i := range body.Runs {
					if body.Runs[i].WorkflowID == "w1" {
						w1 = &body.Runs[i]
					}
				}
				if body.NextCursor == "" {
					break
				}
				path = "/v1/runs?limit=1&cursor=" + url.QueryEscape(body.NextCursor)
			}
			if w1 == nil {
				t.Fatalf("w1 was not listed (queries %q)", c.queries)
			}
			if w1.RolledBackBy != "UALICE" || w1.RolledBackAt == nil || !w1.RolledBackAt.Equal(rolledBackAt) {
				t.Errorf("w1 listed with rolled_back_by %q, rolled_back_at %v; want UALICE at %s (rollback:w1): a rolled-back run reads as still contained",
					w1.RolledBackBy, w1.RolledBackAt, rolledBackAt.Format(time.RFC3339))
			}
		})
	}
}
