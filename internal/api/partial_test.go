package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/problem"
)

// A batch with an invalid detection is a 400 for the whole batch (nothing
// starts); with ?partial=true the invalid detection is refused alone, with
// its field errors, and the valid ones are started, so a shipper that drops
// 4xx answers does not lose them. A batch with nothing valid is a 400
// either way.
func TestPartialRefusesOnlyInvalidDetections(t *testing.T) {
	invalid := `{"class_uid":2004,"time":1,"severity_id":"high","finding_info":{"uid":"bad-1","title":"x"},"metadata":{"product":{"name":"P"},"version":"1.1.0"}}`
	body := det("ok-1", 5, "") + "\n" + invalid + "\n" + det("ok-2", 5, "")

	st := &fakeStarter{}
	h := newTestServer(t, st).Handler()
	got := serve(h, post("/v1/detections", "Bearer "+testToken, body))
	if got.code != http.StatusBadRequest || len(st.Starts()) != 0 {
		t.Fatalf("without partial: status %d, %d started; want 400 and none: %.300s", got.code, len(st.Starts()), got.body)
	}

	got = serve(h, post("/v1/detections?partial=true", "Bearer "+testToken, body))
	if got.code != http.StatusAccepted {
		t.Fatalf("partial: status %d, want 202: %.500s", got.code, got.body)
	}
	r := decodeResponse(t, got)
	if r.Started != 2 || len(r.Detections) != 3 || len(st.Starts()) != 2 {
		t.Fatalf("partial: started %d (%d starts) of %d outcomes, want 2 of 3: %.500s", r.Started, len(st.Starts()), len(r.Detections), got.body)
	}
	bad := r.Detections[1]
	if bad.Index != 1 || bad.State != "refused" || bad.Status != 400 || len(bad.Problems) == 0 || bad.Problems[0].Path != "severity_id" || len(bad.Matched) != 0 {
		t.Errorf("refused outcome = %+v", bad)
	}

	got = serve(h, post("/v1/detections?partial=true", "Bearer "+testToken, invalid))
	var p problem.Problem
	if err := json.Unmarshal([]byte(got.body), &p); err != nil || got.code != http.StatusBadRequest || len(p.Errors) == 0 || p.Errors[0].Path != "severity_id" {
		t.Errorf("partial, nothing valid: status %d, problem %+v (%v); want 400 naming severity_id", got.code, p.Errors, err)
	}
	if got := serve(h, post("/v1/detections?partial=maybe", "Bearer "+testToken, body)); got.code != http.StatusBadRequest || !strings.Contains(got.body, "partial") {
		t.Errorf("partial=maybe: status %d: %.300s", got.code, got.body)
	}
}
