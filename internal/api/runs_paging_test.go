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
	"strings"
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

// A cursor mistyped or cut short when copied used to reach Temporal as a
// page token: a truncated one left the API waiting on Temporal until its
// deadline and answered 502 "context deadline exceeded" (the embedded
// server, 5 s), and one whose token still parsed listed another page
// without a word (here, a changed character skipped run w2). Every cursor
// the API did not give is now refused 400 "Bad cursor" at once, and
// Temporal is not asked.
func TestRunsListingRefusesACursorItDidNotGive(t *testing.T) {
	c := &pagingClient{n: 5}
	srv := newTestServer(t, &fakeStarter{})
	srv.Temporal = c
	h := srv.Handler()
	r := httptest.NewRequest("GET", "/v1/runs?limit=2", nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	got := serve(h, r)
	var body struct {
		NextCursor string `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(got.body), &body); err != nil || body.NextCursor == "" {
		t.Fatalf("first page: %d %s", got.code, got.body)
	}
	typo := []byte(body.NextCursor)
	switch i := len(typo) - 1; typo[i] {
	case 'w':
		typo[i] = 'x'
	default:
		typo[i] = 'w'
	}
	cut := body.NextCursor[:len(body.NextCursor)-1]
	for name, cur := range map[string]string{
		"mistyped":  string(typo),
		"cut short": cut,
		"a page token of Temporal's own, not given by the API": "eyJ4IjoxfQ",
	} {
		c.mu.Lock()
		asked := len(c.tokens)
		c.mu.Unlock()
		r := httptest.NewRequest("GET", "/v1/runs?limit=2&cursor="+url.QueryEscape(cur), nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		got := serve(h, r)
		if got.code != http.StatusBadRequest || !strings.Contains(got.body, "Bad cursor") || !strings.Contains(got.body, "changed or cut short") || strings.Contains(got.body, "filters") {
			t.Errorf("%s cursor %q: %d %s; want 400 Bad cursor saying it was changed or cut short (not that the filters differ)", name, cur, got.code, got.body)
		}
		c.mu.Lock()
		if len(c.tokens) != asked {
			t.Errorf("%s cursor %q: Temporal was asked with page token %q", name, cur, c.tokens[asked:])
		}
		c.mu.Unlock()
	}
}

// Temporal's page token is a position in the listing, not bound to the
// query (SQL visibility: the last row's close time, start time and run
// id), so a cursor of one listing given with other filters (riposte runs
// list --cursor C --playbook other, or --status added on the next page)
// listed that listing from the first one's position: the newer runs of
// the second listing were skipped without a word. The cursor's check sum
// now covers the filters: given with others it is refused 400 Bad cursor
// and Temporal is not asked; the same filters with another limit still
// page on.
func TestRunsListingRefusesACursorOfOtherFilters(t *testing.T) {
	c := &pagingClient{n: 5}
	srv := newTestServer(t, &fakeStarter{})
	srv.Temporal = c
	h := srv.Handler()
	first := func(path string) string {
		t.Helper()
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		got := serve(h, r)
		var body struct {
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(got.body), &body); err != nil || body.NextCursor == "" {
			t.Fatalf("%s: %d %s", path, got.code, got.body)
		}
		return body.NextCursor
	}
	all := first("/v1/runs?limit=2")
	pb := first("/v1/runs?limit=2&playbook=isolate-host")
	for name, path := range map[string]string{
		"unfiltered cursor with playbook=":  "/v1/runs?limit=2&playbook=isolate-host&cursor=" + url.QueryEscape(all),
		"unfiltered cursor with status=":    "/v1/runs?limit=2&status=running&cursor=" + url.QueryEscape(all),
		"playbook cursor without playbook=": "/v1/runs?limit=2&cursor=" + url.QueryEscape(pb),
		"playbook cursor with another one":  "/v1/runs?limit=2&playbook=block-ip&cursor=" + url.QueryEscape(pb),
	} {
		c.mu.Lock()
		asked := len(c.tokens)
		c.mu.Unlock()
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		got := serve(h, r)
		if got.code != http.StatusBadRequest || !strings.Contains(got.body, "Bad cursor") || !strings.Contains(got.body, "filters") {
			t.Errorf("%s: %d %s; want 400 Bad cursor saying the filters differ", name, got.code, got.body)
		}
		c.mu.Lock()
		if len(c.tokens) != asked {
			t.Errorf("%s: Temporal was asked with page token %q", name, c.tokens[asked:])
		}
		c.mu.Unlock()
	}
	for name, path := range map[string]string{
		"same filters, another limit":  "/v1/runs?limit=3&cursor=" + url.QueryEscape(all),
		"same playbook, another limit": "/v1/runs?limit=1&playbook=isolate-host&cursor=" + url.QueryEscape(pb),
	} {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		if got := serve(h, r); got.code != http.StatusOK {
			t.Errorf("%s: %d %s; want 200", name, got.code, got.body)
		}
	}
}

// README's production topology puts several riposte serve replicas behind
// a load balancer: the next page may be asked of another replica, or of
// the same one after a restart. The cursor's check sums are keyed by
// nothing, so a cursor given by another process (here the constant one an
// earlier process of this release gave for page 2 of the unfiltered
// listing, limit 2: token "2") lists its page on a fresh server, and two
// servers give the same cursor. A per-process key (random at start, or
// held by each Server) would break paging behind the load balancer.
func TestRunsCursorWorksOnAnotherReplica(t *testing.T) {
	const fromAnotherProcess = "1HNeOmS2KcQy"
	var cursors []string
	for replica := 0; replica < 2; replica++ {
		c := &pagingClient{n: 5}
		srv := newTestServer(t, &fakeStarter{})
		srv.Temporal = c
		r := httptest.NewRequest("GET", "/v1/runs?limit=2&cursor="+fromAnotherProcess, nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		got := serve(srv.Handler(), r)
		var body struct {
			Runs []RunSummary `json:"runs"`
		}
		if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.code != http.StatusOK || len(body.Runs) != 2 || body.Runs[0].WorkflowID != "w2" {
			t.Fatalf("replica %d, cursor of another process: %d %s; want runs w2, w3", replica, got.code, got.body)
		}
		r = httptest.NewRequest("GET", "/v1/runs?limit=2", nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		got = serve(srv.Handler(), r)
		var first struct {
			NextCursor string `json:"next_cursor"`
		}
		_ = json.Unmarshal([]byte(got.body), &first)
		cursors = append(cursors, first.NextCursor)
	}
	if cursors[0] != fromAnotherProcess || cursors[1] != fromAnotherProcess {
		t.Errorf("next_cursor of page 1 on two replicas: %q; want %q on both", cursors, fromAnotherProcess)
	}
}
