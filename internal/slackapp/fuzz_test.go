package slackapp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

// FuzzInteraction feeds arbitrary bodies and headers to the handler
// (signature check, replay cache, payload parser, processing) and checks it
// never panics and only ever answers with the statuses it documents.
func FuzzInteraction(f *testing.F) {
	approve := slackfake.InteractionBody(approvePayload())
	submit := slackfake.InteractionBody(slackfake.ViewSubmissionPayload("U1", ReasonModalCallbackID,
		GateRef{WorkflowID: "w", GateID: "g", Approve: true}.Encode(), map[string]map[string]string{ReasonBlockID: {ReasonActionID: "ok"}}))
	ts := strconv.FormatInt(testNow.Unix(), 10)
	f.Add(approve, ts, "", true)
	f.Add(submit, ts, "", true)
	f.Add(approve, ts, slackfake.Sign(testSecret, testNow, approve), false)
	f.Add([]byte("payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5Bnull%5D%7D"), ts, "", true)
	f.Add([]byte(`payload={"type":"block_actions","actions":[{"action_id":"riposte_approve","value":"{\"w\":1}"}]}`), ts, "", true)
	f.Add([]byte(`payload={"type":"view_submission","view":{"callback_id":"riposte_reason","private_metadata":"{}","state":null}}`), ts, "", true)
	f.Add([]byte("payload=%00%ff"), "-1", "v0=", false)
	f.Add([]byte(""), "99999999999999999999", "v0=zz", false)

	dec := DeciderFunc(func(ctx context.Context, workflowID string, d workflows.Decision) (workflows.DecisionResult, error) {
		if strings.Contains(workflowID, "x") {
			return workflows.DecisionResult{}, errors.New("refused <!channel>")
		}
		return workflows.DecisionResult{}, nil
	})
	opts := HandlerOptions{
		ProcessorOptions: ProcessorOptions{TeamID: slackfake.TeamID, AppID: slackfake.AppID, Decider: dec, Now: func() time.Time { return testNow }, DecideTimeout: time.Second},
		SigningSecret:    testSecret,
		MaxBody:          16 << 10,
	}

	f.Fuzz(func(t *testing.T, body []byte, tsHeader, sigHeader string, sign bool) {
		if sign {
			// Sign properly so the parser behind the signature check runs.
			tsHeader = ts
			sigHeader = slackfake.Sign(testSecret, testNow, body)
		}
		r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set(HeaderTimestamp, tsHeader)
		r.Header.Set(HeaderSignature, sigHeader)
		// A fresh handler per input keeps runs deterministic (the replay
		// cache would otherwise remember earlier inputs).
		h, err := NewHandler(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusConflict, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		default:
			t.Fatalf("unexpected status %d: %s", w.Code, w.Body)
		}
		if !sign && w.Code == http.StatusOK {
			// Only a correct signature gets through.
			if _, err := VerifySignature([]byte(testSecret), r.Header, body, testNow); err != nil {
				t.Fatalf("accepted a request whose signature does not verify: %v", err)
			}
		}
		h.Processor().Wait()

		// The parser on its own.
		if cb, err := ParseInteraction("application/x-www-form-urlencoded", body); err == nil {
			_ = Relevant(cb)
			_ = SubmissionErrors(cb)
		}
	})
}
