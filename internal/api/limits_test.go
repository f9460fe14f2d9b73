package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/workflows"
)

// temporalLimits refuses, as the Temporal server does (InvalidArgument), a
// start whose DetectionID keyword exceeds the server's default 2 KiB limit
// on one search attribute value.
type temporalLimits struct{ *fakeStarter }

func (t temporalLimits) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	if v, ok := o.TypedSearchAttributes.GetKeyword(workflows.SADetectionID); ok && len(v) > 2048 {
		return nil, serviceerror.NewInvalidArgument(fmt.Sprintf("search attribute DetectionID value size %d exceeds size limit 2048", len(v)))
	}
	return t.fakeStarter.ExecuteWorkflow(ctx, o, wf, args...)
}

// A 200 KB finding_info.uid (issue 12) refuses that detection only, with a
// 400 naming the field; the rest of the batch is started (no 503).
func TestAPIOverlongUIDRefusesOnlyItsDetection(t *testing.T) {
	st := &fakeStarter{}
	s := newTestServer(t, st)
	s.Dispatcher.Client = temporalLimits{st}
	s.MaxBody = 1 << 20
	h := s.Handler()
	long := strings.Repeat("A", 200<<10)
	body := det("ok-1", 5, "") + "\n" + det(long, 5, "") + "\n" + det("ok-2", 5, "") + "\n" + det(strings.Repeat("b", intake.MaxIDLen), 5, "")
	got := serve(h, post("/v1/detections", "Bearer "+testToken, body))
	if got.code != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %.500s", got.code, got.body)
	}
	r := decodeResponse(t, got)
	if r.Started != 3 || len(r.Detections) != 4 {
		t.Fatalf("started %d of %d outcomes, want 3 of 4: %.500s", r.Started, len(r.Detections), got.body)
	}
	bad := r.Detections[1]
	if bad.Index != 1 || bad.Status != 400 || len(bad.Problems) != 1 || bad.Problems[0].Path != "finding_info.uid" ||
		!strings.Contains(bad.Problems[0].Message, "204800 bytes; the limit is 1024") || len(bad.Matched) != 0 {
		t.Errorf("refused outcome = %+v", bad)
	}
	if len(bad.DetectionID) > 100 || strings.Contains(got.body, long[:2000]) {
		t.Errorf("the response echoes the over-long uid (%d bytes)", len(bad.DetectionID))
	}
	for _, i := range []int{0, 2, 3} {
		o := r.Detections[i]
		if o.Index != i || o.Status != 0 || len(o.Problems) != 0 || len(o.Matched) != 1 || o.Matched[0].Deduplicated {
			t.Errorf("outcome %d = %+v", i, o)
		}
	}
	if n := len(st.Starts()); n != 3 {
		t.Errorf("%d runs started, want 3", n)
	}

	// A request of only over-long ids is a plain 400 problem naming them.
	sec := `{"class_uid":2001,"time":1,"severity_id":4,"finding":{"uid":"` + long + `","title":"x"},"metadata":{"product":{"name":"P"}}}`
	got = serve(h, post("/v1/detections", "Bearer "+testToken, det(long, 5, "")+"\n"+sec))
	if got.code != http.StatusBadRequest {
		t.Fatalf("only over-long ids: %d, want 400: %.300s", got.code, got.body)
	}
	var p problem.Problem
	if err := json.Unmarshal([]byte(got.body), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Errors) != 2 || p.Errors[0].Path != "finding_info.uid" || p.Errors[1].Index != 1 || p.Errors[1].Path != "finding.uid" {
		t.Errorf("problem = %+v", p.Errors)
	}
	if n := len(st.Starts()); n != 3 {
		t.Errorf("%d runs started, want still 3", n)
	}
}
