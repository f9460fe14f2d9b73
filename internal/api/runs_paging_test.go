package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// pagingClient lists n runs, page by page, as Temporal's visibility does:
// a NextPageToken while more are left.
type pagingClient struct {
	client.Client
	n      int
	mu     sync.Mutex
	tokens [][]byte
}

func (c *pagingClient) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	c.mu.Lock()
	c.tokens = append(c.tokens, req.GetNextPageToken())
	c.mu.Unlock()
	from := 0
	if t := req.GetNextPageToken(); len(t) > 0 {
		n, err := strconv.Atoi(string(t))
		if err != nil {
			return nil, fmt.Errorf("bad token %q", t)
		}
		from = n
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	to := min(c.n, from+int(req.GetPageSize()))
	for i := from; i < to; i++ {
		id := fmt.Sprintf("w%d", i)
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-" + id}})
	}
	if to < c.n {
		resp.NextPageToken = []byte(strconv.Itoa(to))
	}
	return resp, nil
}

// GET /v1/runs read one page of Temporal's listing and dropped its next
// page token: with more runs than limit (at most 1,000) the answer looked
// like all of them, and the runs after the first 1,000 could not be listed
// at all. The answer now carries next_cursor while runs are left, and
// ?cursor= lists the next page; every run is listed once.
func TestRunsListingPagesThroughEveryRun(t *testing.T) {
	c := &pagingClient{n: 5}
	srv := newTestServer(t, &fakeStarter{})
	srv.Temporal = c
	h := srv.Handler()
	var seen []string
	path := "/v1/runs?limit=2"
	for page := 0; page < 5; page++ {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		got := serve(h, r)
		var body struct {
			Runs       []RunSummary `json:"runs"`
			NextCursor string       `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.code != http.StatusOK {
			t.Fatalf("%s: status %d (%v): %s", path, got.code, err, got.body)
		}
		for _, run := range body.Runs {
			seen = append(seen, run.WorkflowID)
		}
		if body.NextCursor == "" {
			break
		}
		path = "/v1/runs?limit=2&cursor=" + url.QueryEscape(body.NextCursor)
	}
	if want := []string{"w0", "w1", "w2", "w3", "w4"}; !slices.Equal(seen, want) {
		t.Errorf("listed %v over the pages, want %v (Temporal was asked with page tokens %q)", seen, want, c.tokens)
	}
	r := httptest.NewRequest("GET", "/v1/runs?cursor=%25%25not-base64", nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	if got := serve(h, r); got.code != http.StatusBadRequest {
		t.Errorf("a cursor that is not one: status %d, want 400: %s", got.code, got.body)
	}
}
