package slackapp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// README: when every interaction slot is busy, "a reason form stays open
// with its reason and 'submit again'". A view_submission must be answered
// 200 for Slack to read the answer: to anything else (the 503 problem
// JSON a click gets) Slack shows its own "trouble connecting" error in
// the form, never Riposte's. Over Socket Mode the form gets
// {"response_action":"errors"} saying Riposte is busy; over HTTP it got
// the 503.
func TestBusyReasonFormOverHTTPSaysSubmitAgain(t *testing.T) {
	dec := newRecDecider()
	dec.release = make(chan struct{})
	h, err := NewHandler(HandlerOptions{
		ProcessorOptions: ProcessorOptions{TeamID: slackfake.TeamID, AppID: slackfake.AppID, Decider: dec, Now: func() time.Time { return testNow }, MaxConcurrent: 1},
		SigningSecret:    testSecret,
		QueueWait:        50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	defer close(dec.release)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, slackfake.SignedInteraction(testSecret, approvePayload(), testNow))
	if w.Code != http.StatusOK {
		t.Fatalf("first click: %d", w.Code)
	}
	// The only slot is taken; a reason form is submitted.
	meta := GateRef{WorkflowID: "wf-r", GateID: "isolate", Channel: "C0RIPOSTE1", Approve: true}.Encode()
	sub := slackfake.ViewSubmissionPayload("U0LATE0002", ReasonModalCallbackID, meta,
		map[string]map[string]string{ReasonBlockID: {ReasonActionID: "confirmed with the host owner"}})
	w = httptest.NewRecorder()
	h.ServeHTTP(w, slackfake.SignedInteraction(testSecret, sub, testNow.Add(time.Second)))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"response_action":"errors"`) ||
		!strings.Contains(w.Body.String(), ReasonBlockID) || !strings.Contains(w.Body.String(), "busy") {
		t.Fatalf("reason form while busy: %d %s; want 200 with response_action errors on %s saying Riposte is busy", w.Code, w.Body, ReasonBlockID)
	}
}
