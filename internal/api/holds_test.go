package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/workflows"
)

// jsonValue is a query's answer, as the client returns it.
type jsonValue struct{ v any }

func (j jsonValue) HasValue() bool { return j.v != nil }

func (j jsonValue) Get(ptr any) error {
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

// TestListHoldsSoonestFirst pins the README's "GET /v1/holds (active holds,
// soonest first)": the holds of several holding runs, listed by Temporal in
// no particular order (one run's holds out of order too, one run known only
// by its HoldUntil search attribute), come back sorted by release time, the
// released ones left out.
func TestListHoldsSoonestFirst(t *testing.T) {
	srv := newTestServer(t, &fakeStarter{})
	c := mocks.NewClient(t)
	srv.Temporal = c
	base := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return base.Add(d) }
	dc := converter.GetDefaultDataConverter()
	run := func(id string, holdUntil *time.Time) *workflowpb.WorkflowExecutionInfo {
		fields := map[string]*commonpb.Payload{}
		for k, v := range map[string]any{"PlaybookName": "pb-" + id, "RunStatus": workflows.RunHolding} {
			p, err := dc.ToPayload(v)
			if err != nil {
				t.Fatal(err)
			}
			fields[k] = p
		}
		if holdUntil != nil {
			p, err := dc.ToPayload(*holdUntil)
			if err != nil {
				t.Fatal(err)
			}
			fields["HoldUntil"] = p
		}
		return &workflowpb.WorkflowExecutionInfo{
			Execution:        &commonpb.WorkflowExecution{WorkflowId: id, RunId: "r-" + id},
			Type:             &commonpb.WorkflowType{Name: workflows.PlaybookWorkflow},
			Status:           enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			StartTime:        timestamppb.New(base.Add(-time.Hour)),
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields},
		}
	}
	legacyUntil := at(30 * time.Minute)
	c.On("ListWorkflow", mock.Anything, mock.Anything).Return(&workflowservice.ListWorkflowExecutionsResponse{
		Executions: []*workflowpb.WorkflowExecutionInfo{run("late", nil), run("legacy", &legacyUntil), run("mixed", nil)},
	}, nil).Once()
	released := at(-time.Minute)
	c.On("QueryWorkflow", mock.Anything, "late", "r-late", workflows.QueryHolds).Return(jsonValue{[]workflows.Hold{
		{Step: "block", Until: at(3 * time.Hour)},
		{Step: "gone", Until: at(5 * time.Minute), ReleasedAt: &released},
	}}, nil).Once()
	// A run started before holds could be queried.
	c.On("QueryWorkflow", mock.Anything, "legacy", "r-legacy", workflows.QueryHolds).Return(nil, errors.New("unknown queryType holds")).Once()
	c.On("QueryWorkflow", mock.Anything, "mixed", "r-mixed", workflows.QueryHolds).Return(jsonValue{[]workflows.Hold{
		{Step: "disable", Until: at(2 * time.Hour)},
		{Step: "isolate", Until: at(10 * time.Minute)},
	}}, nil).Once()

	r := httptest.NewRequest(http.MethodGet, "/v1/holds", nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	got := serve(srv.Handler(), r)
	if got.code != http.StatusOK {
		t.Fatalf("status %d: %s", got.code, got.body)
	}
	var body struct {
		Holds []ActiveHold `json:"holds"`
	}
	if err := json.Unmarshal([]byte(got.body), &body); err != nil {
		t.Fatal(err)
	}
	var order []string
	for i, h := range body.Holds {
		order = append(order, h.WorkflowID+"/"+h.Step)
		if i > 0 && h.Until.Before(body.Holds[i-1].Until) {
			t.Errorf("hold %d (%s) releases at %s, before the one listed above it (%s)", i, h.WorkflowID, h.Until, body.Holds[i-1].Until)
		}
	}
	if want := "mixed/isolate,legacy/,mixed/disable,late/block"; strings.Join(order, ",") != want {
		t.Errorf("holds %s, want %s (soonest first, released left out)", strings.Join(order, ","), want)
	}
	if len(body.Holds) == 4 && (!body.Holds[1].Until.Equal(legacyUntil) || body.Holds[1].Playbook != "pb-legacy") {
		t.Errorf("legacy run's hold = %+v", body.Holds[1])
	}
}

// More holding runs than one listing reads: the answer says it is not all
// (truncated, with why) instead of passing part of them off as every hold.
func TestListHoldsSaysTruncated(t *testing.T) {
	srv := newTestServer(t, &fakeStarter{})
	c := mocks.NewClient(t)
	srv.Temporal = c
	c.On("ListWorkflow", mock.Anything, mock.Anything).Return(&workflowservice.ListWorkflowExecutionsResponse{
		Executions:    []*workflowpb.WorkflowExecutionInfo{},
		NextPageToken: []byte("more"),
	}, nil).Once()
	r := httptest.NewRequest(http.MethodGet, "/v1/holds", nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	got := serve(srv.Handler(), r)
	var body HoldsResponse
	if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.code != http.StatusOK || !body.Truncated || !strings.Contains(body.Detail, "runs are holding") {
		t.Errorf("status %d, %+v (%v): %s", got.code, body, err, got.body)
	}
}
