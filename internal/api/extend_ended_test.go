package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/signing"
)

// endedRunClient knows one run, w1, which has ended (its hold released,
// rolled back, or run to its end); w2 is unknown. An Update on an ended
// run is refused by Temporal as NotFound ("workflow execution already
// completed"), as on an unknown one.
type endedRunClient struct {
	client.Client // nil: only the methods below are used
}

func (c *endedRunClient) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if id != "w1" {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-A"},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
	}}, nil
}

func (c *endedRunClient) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if o.WorkflowID == "w1" {
		return nil, serviceerror.NewNotFound("workflow execution already completed")
	}
	return nil, serviceerror.NewNotFound("workflow not found for ID: " + o.WorkflowID)
}

// An extension of a run that has ended (its hold released by its timer or
// a rollback, the run over) was answered 404 "Run not found: no running
// run with workflow id", which riposte extend follows with "check the
// workflow id: riposte runs list shows recent runs": the analyst is told
// the run they are looking at in runs list does not exist. A decision on
// an ended run is a 409 saying it has ended (README: "An unknown run is
// still a 404 and an ended one a 409"); so is an extension, with or
// without run seals. An unknown run stays a 404.
func TestExtendOfAnEndedRunIsConflictNotNotFound(t *testing.T) {
	for _, sealed := range []bool{true, false} {
		srv, toks, _ := identityServer(t, &fakeStarter{})
		keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
		if err != nil {
			t.Fatal(err)
		}
		srv.Keys = keys
		srv.Temporal = &endedRunClient{}
		srv.SealsRun = func(context.Context) bool { return sealed }
		got := serve(srv.Handler(), post("/v1/runs/w1/extend", "Bearer "+toks["approver"], `{"step":"block","by":"4h"}`))
		var pr struct{ Title, Detail string }
		_ = json.Unmarshal([]byte(got.body), &pr)
		if got.code != http.StatusConflict || !strings.Contains(pr.Detail, "ended") {
			t.Errorf("run seals %v: extension of an ended run: status %d %s; want 409 saying the run has ended", sealed, got.code, strings.TrimSpace(got.body))
		}
		got = serve(srv.Handler(), post("/v1/runs/w2/extend", "Bearer "+toks["approver"], `{"step":"block","by":"4h"}`))
		if got.code != http.StatusNotFound {
			t.Errorf("run seals %v: extension of an unknown run: status %d %s; want 404", sealed, got.code, strings.TrimSpace(got.body))
		}
	}
}
