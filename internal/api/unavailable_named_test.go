package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/problem"
)

// README: "if some cannot be started (Temporal unavailable) the answer is
// 503 with Retry-After naming them". The 503 named at most 20 of them, in
// its free-text detail only ("indexes 0, 1, …"), and a detection
// ?partial=true refused as invalid not at all: a producer that resends
// what the answer names (or logs why records were dropped) could not tell
// which detections were not taken. Every detection not taken is in the
// problem's errors, with its index and why.
func TestAPIUnavailableNamesEveryDetectionNotTaken(t *testing.T) {
	st := &fakeStarter{failUID: "down-"}
	s := newTestServer(t, st)
	s.MaxBody = 1 << 20
	var body strings.Builder
	for i := range 25 {
		body.WriteString(det(fmt.Sprintf("down-%d", i), 5, "") + "\n")
	}
	body.WriteString(det("up-1", 5, "") + "\n")
	body.WriteString(`{"class_uid":2004,"time":1,"severity_id":"high","finding_info":{"uid":"bad-1","title":"x"},"metadata":{"product":{"name":"P"}}}` + "\n")
	got := serve(s.Handler(), post("/v1/detections?partial=true", "Bearer "+testToken, body.String()))
	if got.code != http.StatusServiceUnavailable || got.header.Get("Retry-After") == "" {
		t.Fatalf("%d (Retry-After %q): %.300s", got.code, got.header.Get("Retry-After"), got.body)
	}
	var p problem.Problem
	if err := json.Unmarshal([]byte(got.body), &p); err != nil {
		t.Fatal(err)
	}
	named := map[int]string{}
	for _, e := range p.Errors {
		named[e.Index] = e.Path + " " + e.Message
	}
	var missing []int
	for i := range 25 {
		if named[i] == "" {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		t.Errorf("the 503 does not name %d of the 25 detections not dispatched (%v) in its errors: %+v", len(missing), missing, p.Errors)
	}
	if !strings.Contains(named[26], "severity_id") {
		t.Errorf("the detection refused as invalid (index 26) is not named: %q", named[26])
	}
	if _, ok := named[25]; ok {
		t.Errorf("the dispatched detection (index 25) is named as not taken: %q", named[25])
	}
}
