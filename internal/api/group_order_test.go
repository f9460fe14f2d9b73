package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/workflows"
)

// flakyOnce fails the first start of a workflow id holding uid (a rate
// limit, a frontend restarting: Temporal refuses one call and takes the
// next).
type flakyOnce struct {
	*fakeStarter
	uid  string
	once sync.Once
}

func (f *flakyOnce) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	failed := false
	if strings.Contains(o.ID, f.uid) {
		f.once.Do(func() { failed = true })
	}
	if failed {
		return nil, serviceerror.NewResourceExhausted(0, "namespace rate limit exceeded")
	}
	return f.fakeStarter.ExecuteWorkflow(ctx, o, wf, args...)
}

// README: "records of the same finding are handled one after the other in
// that order" — a Close that finds no run records one as withdrawn, "so a
// Create sent after it starts nothing". A batch holding a finding's Close
// and then its Create (queues do not keep order) where Temporal refused the
// Close's start once (a rate limit) went on with the Create: it started the
// response for the closed finding, the answer was a 503 "resending the
// request is safe", and the resent Close only withdrew a run that may have
// contained already. A record of a finding is dispatched only when the
// records before it of the same finding in the request were: the later
// ones are named as not dispatched, to be resent in order.
func TestAPIFindingRecordsAfterAFailedOneWait(t *testing.T) {
	st := &fakeStarter{}
	s := newTestServer(t, st)
	s.Dispatcher.Client = &flakyOnce{fakeStarter: st, uid: ".f-1."}
	s.Dispatcher.Rev = func(context.Context) int { return workflows.LatestRev }
	closed := det("f-1", 5, `,"activity_id":3,"status_id":4`)
	create := det("f-1", 5, `,"activity_id":1,"status_id":1`)
	body := closed + "\n" + det("other-1", 5, "") + "\n" + create + "\n"
	got := serve(s.Handler(), post("/v1/detections", "Bearer "+testToken, body))
	if got.code != http.StatusServiceUnavailable {
		t.Fatalf("%d %.300s; want 503 for the Close", got.code, got.body)
	}
	for _, st := range st.Starts() {
		if st.Input.Finding["state"] != "withdrawn" && st.Options.ID != "" && st.Input.Detection["activity_id"] == 1 {
			t.Errorf("the Create after its Close started %s (the response for a closed finding) although the Close was not recorded: %.400s", st.Options.ID, got.body)
		}
	}
	// Resent in order: the Close is recorded, the Create starts nothing.
	got = serve(s.Handler(), post("/v1/detections", "Bearer "+testToken, body))
	r := decodeResponse(t, got)
	if got.code >= 300 || len(r.Detections) != 3 || len(r.Detections[0].Recorded) != 1 || len(r.Detections[2].Matched) != 1 || !r.Detections[2].Matched[0].Deduplicated {
		t.Errorf("resent: %d %.600s; want the Close recorded and the Create deduplicated to it", got.code, got.body)
	}
}
