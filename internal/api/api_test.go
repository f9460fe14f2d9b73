package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/workflows"
)

const testToken = "test-token-0123456789abcdef"

// start is one ExecuteWorkflow call the fake accepted.
type start struct {
	Options  client.StartWorkflowOptions
	Workflow any
	Input    workflows.Input
}

// fakeStarter is a dispatch.Starter that records starts. A workflow id it
// has seen (or one in existing) answers WorkflowExecutionAlreadyStarted,
// like Temporal with the dispatcher's reuse policy.
type fakeStarter struct {
	mu       sync.Mutex
	starts   []start
	calls    int
	existing map[string]string // workflow id -> run id
	// failAt makes the failAt-th call (1-based) and every later one fail
	// with an unavailable error; 0 never fails.
	failAt int
	// panicMsg, when set, makes every call panic with it.
	panicMsg string
	// failUID makes the starts of the detection with this uid fail.
	failUID string
	// delay, when set, is how long a start takes (outside the lock);
	// inFlight and maxInFlight count concurrent starts.
	delay                 func(id string) time.Duration
	inFlight, maxInFlight int
}

var _ dispatch.Starter = (*fakeStarter)(nil)

type fakeRun struct {
	client.WorkflowRun // nil: only the ids are used
	id, runID          string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return r.runID }

func (f *fakeStarter) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	if f.delay != nil {
		f.mu.Lock()
		f.inFlight++
		f.maxInFlight = max(f.maxInFlight, f.inFlight)
		f.mu.Unlock()
		time.Sleep(f.delay(o.ID))
		defer func() {
			f.mu.Lock()
			f.inFlight--
			f.mu.Unlock()
		}()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	f.calls++
	if f.failAt > 0 && f.calls >= f.failAt {
		return nil, serviceerror.NewUnavailable("fake temporal is down")
	}
	if f.failUID != "" && strings.Contains(o.ID, f.failUID) {
		return nil, serviceerror.NewUnavailable("fake temporal is down")
	}
	if f.existing == nil {
		f.existing = map[string]string{}
	}
	if rid, ok := f.existing[o.ID]; ok {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already started", "", rid)
	}
	if len(args) != 1 {
		return nil, fmt.Errorf("fake: %d workflow args, want 1", len(args))
	}
	in, ok := args[0].(workflows.Input)
	if !ok {
		return nil, fmt.Errorf("fake: workflow arg is %T, want workflows.Input", args[0])
	}
	rid := fmt.Sprintf("run-%d", len(f.starts)+1)
	f.existing[o.ID] = rid
	f.starts = append(f.starts, start{Options: o, Workflow: wf, Input: in})
	return fakeRun{id: o.ID, runID: rid}, nil
}

func (f *fakeStarter) Starts() []start {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]start(nil), f.starts...)
}

// testPlaybooks are compiled once: "high" matches severity 4 and up,
// "gated" detections with unmapped.gate == true, and "trigger-error" fails
// its trigger on detections without device (no run, an outcome error).
var testPlaybooks = sync.OnceValues(func() (*playbook.Set, error) {
	srcs := map[string]string{
		"high.yaml": `apiVersion: riposte/v1
name: high
version: 3
trigger:
  when: detection.severity_id >= 4
steps:
  - id: look
    action: core.noop
    with: {uid: "${{ detection.finding_info.uid }}"}
`,
		"gated.yaml": `apiVersion: riposte/v1
name: gated
version: 1
mode: shadow
trigger:
  when: detection.unmapped?.gate == true
steps:
  - id: note
    action: core.log
    with: {message: "gated"}
`,
		"trigger-error.yaml": `apiVersion: riposte/v1
name: trigger-error
version: 1
trigger:
  when: detection.unmapped?.boom == true && detection.device.hostname == "x"
steps:
  - id: note
    action: core.log
    with: {message: "never"}
`,
	}
	var cs []*playbook.Compiled
	for name, src := range srcs {
		c, diags := playbook.LoadBytes(name, []byte(src), activities.Catalog())
		if len(diags) > 0 {
			return nil, fmt.Errorf("%s: %v", name, diags)
		}
		cs = append(cs, c)
	}
	return playbook.NewSet(cs...), nil
})

var testValidator = sync.OnceValues(intake.NewValidator)

// newTestServer returns a Server on the fake starter with the test
// playbooks, a 4 KiB body limit and testToken.
func newTestServer(t testing.TB, st *fakeStarter) *Server {
	t.Helper()
	set, err := testPlaybooks()
	if err != nil {
		t.Fatal(err)
	}
	v, err := testValidator()
	if err != nil {
		t.Fatal(err)
	}
	d := &dispatch.Dispatcher{Client: st, TaskQueue: "riposte", Namespace: "default", UIURL: "http://ui.test"}
	d.SetPlaybooks(set)
	return &Server{Dispatcher: d, Catalog: activities.Catalog(), Validator: v, Token: testToken, MaxBody: 4096, Namespace: "default", UIURL: "http://ui.test"}
}

// det is a valid detection; extra is appended inside the object.
func det(uid string, severity int, extra string) string {
	return fmt.Sprintf(`{"class_uid":2004,"time":1763458937000,"severity_id":%d,"confidence_score":90,`+
		`"finding_info":{"uid":%q,"title":"LSASS dump"},"metadata":{"product":{"name":"Sentinel-LLM Triage","version":"2.7.1"}},`+
		`"device":{"hostname":"fin-ws-042"}%s}`, severity, uid, extra)
}

type response struct {
	code   int
	header http.Header
	body   string
}

// serve sends one request through the handler.
func serve(h http.Handler, r *http.Request) response {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return response{w.Code, w.Result().Header, w.Body.String()}
}

func post(path, auth, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

// problemJSON is the exact body WriteProblem writes for p.
func problemJSON(t testing.TB, p problem.Problem) string {
	t.Helper()
	if p.Type == "" {
		p.Type = "about:blank"
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// checkProblem checks a response is exactly the problem document p.
func checkProblem(t *testing.T, got response, p problem.Problem) {
	t.Helper()
	if got.code != p.Status {
		t.Errorf("status %d, want %d (body %s)", got.code, p.Status, got.body)
	}
	if ct := got.header.Get("Content-Type"); ct != problem.ContentType {
		t.Errorf("Content-Type %q, want %q", ct, problem.ContentType)
	}
	if want := problemJSON(t, p); got.body != want {
		t.Errorf("body\n got: %s\nwant: %s", got.body, want)
	}
}

var unauthorized = problem.Problem{Title: "Unauthorized", Status: 401, Detail: "missing or wrong API token (Authorization: Bearer <token>)"}

func TestAPIAuth(t *testing.T) {
	st := &fakeStarter{}
	srv := newTestServer(t, st)
	h := srv.Handler()
	body := det("auth-1", 2, "")
	for _, tc := range []struct {
		name string
		auth string
		ok   bool
	}{
		{"missing", "", false},
		{"empty bearer", "Bearer ", false},
		{"wrong", "Bearer wrong", false},
		{"same length, last byte wrong", "Bearer " + testToken[:len(testToken)-1] + "X", false},
		{"right token as a prefix", "Bearer " + testToken + "x", false},
		{"a prefix of the right token", "Bearer " + testToken[:8], false},
		{"wrong scheme", "Basic " + testToken, false},
		{"token without scheme", testToken, false},
		{"scheme twice", "Bearer Bearer " + testToken, false},
		{"right", "Bearer " + testToken, true},
		{"right, surrounding spaces trimmed", "Bearer  " + testToken + " ", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := serve(h, post("/v1/detections", tc.auth, body))
			if !tc.ok {
				checkProblem(t, got, unauthorized)
				if wa := got.header.Get("WWW-Authenticate"); wa != `Bearer realm="riposte"` {
					t.Errorf("WWW-Authenticate %q", wa)
				}
				return
			}
			if got.code != http.StatusOK {
				t.Errorf("status %d, want 200: %s", got.code, got.body)
			}
		})
	}
	if n := len(st.Starts()); n != 0 {
		t.Errorf("%d workflows started, want 0 (severity 2 matches no playbook)", n)
	}

	t.Run("every /v1 route and extra routes need the token", func(t *testing.T) {
		srv := newTestServer(t, &fakeStarter{})
		called := false
		srv.Extra = map[string]http.Handler{"GET /v1/extra": http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })}
		h := srv.Handler()
		for _, r := range [][2]string{
			{"POST", "/v1/detections"}, {"POST", "/v1/playbooks/reload"}, {"GET", "/v1/playbooks"}, {"GET", "/v1/runs"},
			{"GET", "/v1/runs/x"}, {"POST", "/v1/runs/x/approvals"}, {"GET", "/v1/approvals"}, {"POST", "/v1/runs/x/rollback"},
			{"POST", "/v1/runs/x/extend"}, {"GET", "/v1/policy"}, {"POST", "/v1/policy/safe-mode"}, {"GET", "/v1/extra"},
		} {
			req := httptest.NewRequest(r[0], r[1], strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer nope")
			checkProblem(t, serve(h, req), unauthorized)
		}
		if called {
			t.Error("an extra route ran without the token")
		}
		if got := serve(h, httptest.NewRequest("GET", "/healthz", nil)); got.code != 200 {
			t.Errorf("/healthz needs no token; got %d", got.code)
		}
	})

	t.Run("a server without a token refuses everyone", func(t *testing.T) {
		st := &fakeStarter{}
		srv := newTestServer(t, st)
		srv.Token = ""
		h := srv.Handler()
		for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer  ", "Bearer x"} {
			checkProblem(t, serve(h, post("/v1/detections", auth, det("notoken", 5, ""))), unauthorized)
		}
		if n := len(st.Starts()); n != 0 {
			t.Errorf("%d workflows started without a token", n)
		}
	})
}

func TestAPIBodyLimit(t *testing.T) {
	st := &fakeStarter{}
	srv := newTestServer(t, st)
	h := srv.Handler()
	big := det("big-1", 5, `,"pad":"`+strings.Repeat("a", 5000)+`"`)

	t.Run("Content-Length over the limit", func(t *testing.T) {
		r := post("/v1/detections", "Bearer "+testToken, big)
		if r.ContentLength != int64(len(big)) {
			t.Fatalf("ContentLength %d", r.ContentLength)
		}
		checkProblem(t, serve(h, r), problem.Problem{Type: intake.ProblemTypeTooLarge, Title: "Detection request too large", Status: 413,
			Detail: fmt.Sprintf("body is %d bytes; the limit is 4096", len(big))})
	})
	t.Run("streamed body over the limit", func(t *testing.T) {
		r := post("/v1/detections", "Bearer "+testToken, "")
		r.Body = io.NopCloser(io.MultiReader(strings.NewReader(big[:100]), strings.NewReader(big[100:])))
		r.ContentLength = -1
		checkProblem(t, serve(h, r), problem.Problem{Type: intake.ProblemTypeTooLarge, Title: "Detection request too large", Status: 413,
			Detail: "body is over the limit of 4096 bytes"})
	})
	t.Run("streamed body through a real server", func(t *testing.T) {
		ts := httptest.NewServer(h)
		defer ts.Close()
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < 10; i++ {
				if _, err := pw.Write([]byte(strings.Repeat(" ", 1000))); err != nil {
					return
				}
			}
			_ = pw.Close()
		}()
		req, _ := http.NewRequest("POST", ts.URL+"/v1/detections", pr)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 413 || req.ContentLength != 0 {
			t.Errorf("status %d (request ContentLength %d): %s", resp.StatusCode, req.ContentLength, b)
		}
	})
	t.Run("exactly at the limit is read", func(t *testing.T) {
		body := det("edge-1", 2, "")
		body += strings.Repeat(" ", 4096-len(body))
		got := serve(h, post("/v1/detections", "Bearer "+testToken, body))
		if got.code != 200 {
			t.Errorf("status %d: %s", got.code, got.body)
		}
	})
	if n := len(st.Starts()); n != 0 {
		t.Errorf("%d workflows started, want 0", n)
	}
}

func TestAPIProblemShapes(t *testing.T) {
	malformed := func(detail string, errs ...intake.FieldError) problem.Problem {
		return problem.Problem{Type: intake.ProblemTypeMalformed, Title: "Malformed detection request", Status: 400, Detail: detail, Errors: errs}
	}
	invalid := func(detail string, errs ...intake.FieldError) problem.Problem {
		return problem.Problem{Type: intake.ProblemTypeInvalid, Title: "Detection failed validation", Status: 400, Detail: detail, Errors: errs}
	}
	for _, tc := range []struct {
		name, body string
		want       problem.Problem
	}{
		{"empty", "", malformed("the request body is empty or only whitespace")},
		{"whitespace", " \r\n\t", malformed("the request body is empty or only whitespace")},
		{"empty array", "[]", malformed("the request body is an empty array")},
		{"a number", "42", malformed("line 1, column 1 (byte offset 0): body must be a JSON object, a JSON array of objects, or NDJSON objects, found a number")},
		{"syntax error", "{\n\"class_uid\": 2004,\n\"time\": }", malformed(
			"detection 0: line 3, column 9 (byte offset 29): invalid character '}' looking for beginning of value",
			intake.FieldError{Index: 0, Message: "line 3, column 9 (byte offset 29): invalid character '}' looking for beginning of value"})},
		{"array with a non-object", "[" + det("a", 5, "") + ", 7]", malformed(
			fmt.Sprintf("detection 1: line 1, column %d (byte offset %d): a detection must be a JSON object, found a number", len(det("a", 5, ""))+4, len(det("a", 5, ""))+3),
			intake.FieldError{Index: 1, Message: fmt.Sprintf("line 1, column %d (byte offset %d): a detection must be a JSON object, found a number", len(det("a", 5, ""))+4, len(det("a", 5, ""))+3)})},
		{"duplicate key", `{"class_uid":2004,"class_uid":2004}`, malformed(
			"detection 0: line 1, column 19 (byte offset 18): class_uid: duplicate key: each key may appear only once in an object",
			intake.FieldError{Index: 0, Path: "class_uid", Message: "line 1, column 19 (byte offset 18): duplicate key: each key may appear only once in an object"})},
		{"missing fields", `{"class_uid":1001,"severity_id":7,"confidence_score":150,"time":1,"finding_info":{},"metadata":{"product":{"name":"x"}}}`, invalid(
			"4 validation error(s) in 1 detection(s)",
			intake.FieldError{Index: 0, Path: "class_uid", Message: "must be 2004 (Detection Finding) or 2001 (Security Finding, mapped), got 1001"},
			intake.FieldError{Index: 0, Path: "confidence_score", Message: "must be an integer between 0 and 100, got 150"},
			intake.FieldError{Index: 0, Path: "finding_info.uid", Message: "is required"},
			intake.FieldError{Index: 0, Path: "severity_id", Message: "must be one of 0, 1, 2, 3, 4, 5, 6, 99, got 7"})},
		{"second of two invalid", det("ok", 5, "") + "\n" + `{"class_uid":2004}`, invalid(
			"4 validation error(s) in 1 detection(s)",
			intake.FieldError{Index: 1, Path: "finding_info", Message: "is required"},
			intake.FieldError{Index: 1, Path: "metadata", Message: "is required"},
			intake.FieldError{Index: 1, Path: "severity_id", Message: "is required"},
			intake.FieldError{Index: 1, Path: "time", Message: "is required (epoch milliseconds, or time_dt as an RFC 3339 date-time)"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStarter{}
			h := newTestServer(t, st).Handler()
			got := serve(h, post("/v1/detections", "Bearer "+testToken, tc.body))
			checkProblem(t, got, tc.want)
			if n := len(st.Starts()); n != 0 {
				t.Errorf("%d workflows started for a rejected body", n)
			}
		})
	}
}

func decodeResponse(t *testing.T, got response) DetectionsResponse {
	t.Helper()
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var r DetectionsResponse
	dec := json.NewDecoder(strings.NewReader(got.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decoding %s: %v", got.body, err)
	}
	return r
}

func TestAPIStartedAndDeduplicated(t *testing.T) {
	st := &fakeStarter{}
	h := newTestServer(t, st).Handler()
	auth := "Bearer " + testToken

	// A new detection: 202 and one run.
	got := serve(h, post("/v1/detections", auth, det("cred-1", 5, "")))
	if got.code != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", got.code, got.body)
	}
	r := decodeResponse(t, got)
	wid := "high:" + intake.Detection{"finding_info": map[string]any{"uid": "cred-1"}, "metadata": map[string]any{"product": map[string]any{"name": "Sentinel-LLM Triage"}}}.Key()
	want := DetectionsResponse{Started: 1, Detections: []dispatch.Outcome{{Index: 0, DetectionID: "cred-1", Matched: []dispatch.Match{{
		Playbook: "high", Version: 3, Mode: "live", WorkflowID: wid, RunID: "run-1",
		URL: dispatch.RunURL("http://ui.test", "default", wid, "run-1")}},
		// What the finding view found (a detector engineer's first question).
		Confidence: float64(90), State: "active",
		Entities: map[string]int{"cloud_resources": 0, "domains": 0, "hashes": 0, "hosts": 1, "ips": 0, "urls": 0, "users": 0}}}}
	if gb, wb := mustJSON(t, r), mustJSON(t, want); gb != wb {
		t.Errorf("response\n got %s\nwant %s", gb, wb)
	}
	if s := st.Starts(); len(s) != 1 || s[0].Workflow != workflows.PlaybookWorkflowType(s[0].Input.Playbook.Name) || s[0].Workflow != "high" || s[0].Options.ID != wid || s[0].Input.DryRun || s[0].Input.Requester != "riposte-dev-token" {
		t.Errorf("starts = %+v", s)
	}

	// The same detection again: 200, deduplicated, the existing run.
	got = serve(h, post("/v1/detections", auth, det("cred-1", 5, "")))
	if got.code != http.StatusOK {
		t.Fatalf("resend: status %d, want 200: %s", got.code, got.body)
	}
	r = decodeResponse(t, got)
	if r.Started != 0 || r.Deduplicated != 1 || !r.Detections[0].Deduplicated || !r.Detections[0].Matched[0].Deduplicated || r.Detections[0].Matched[0].RunID != "run-1" {
		t.Errorf("resend = %s", mustJSON(t, r))
	}
	if !strings.Contains(got.body, `"deduplicated": true`) {
		t.Errorf("body lacks \"deduplicated\": true: %s", got.body)
	}

	// A batch of a new and an old one: 202, one started, one deduplicated.
	got = serve(h, post("/v1/detections", auth, "["+det("cred-1", 5, "")+","+det("cred-2", 5, "")+"]"))
	r = decodeResponse(t, got)
	if got.code != http.StatusAccepted || r.Started != 1 || r.Deduplicated != 1 || !r.Detections[0].Deduplicated || r.Detections[1].Deduplicated {
		t.Errorf("mixed batch: %d %s", got.code, got.body)
	}

	// No playbook matches: 200 and matched: [] (not null).
	got = serve(h, post("/v1/detections", auth, det("low-1", 1, "")))
	r = decodeResponse(t, got)
	if got.code != http.StatusOK || r.Started != 0 || r.Detections[0].Matched == nil || !strings.Contains(got.body, `"matched": []`) {
		t.Errorf("no match: %d %s", got.code, got.body)
	}

	// A trigger that fails to evaluate is reported, nothing starts.
	got = serve(h, post("/v1/detections", auth, `{"class_uid":2004,"time":1,"severity_id":1,"finding_info":{"uid":"te-1"},"metadata":{"product":{"name":"p"}},"unmapped":{"boom":true}}`))
	r = decodeResponse(t, got)
	if got.code != http.StatusOK || len(r.Detections[0].Errors) != 1 || !strings.HasPrefix(r.Detections[0].Errors[0], "playbook trigger-error: trigger: ") {
		t.Errorf("trigger error: %d %s", got.code, got.body)
	}
	if n := len(st.Starts()); n != 2 {
		t.Errorf("%d starts, want 2", n)
	}
}

// TestAPIDeduplicatedByTemporal checks the answer when Temporal already
// has the run (the fake is seeded, as after a restart).
func TestAPIDeduplicatedByTemporal(t *testing.T) {
	d := intake.Detection{"finding_info": map[string]any{"uid": "seen-1"}, "metadata": map[string]any{"product": map[string]any{"name": "Sentinel-LLM Triage"}}}
	st := &fakeStarter{existing: map[string]string{"high:" + d.Key(): "old-run"}}
	h := newTestServer(t, st).Handler()
	got := serve(h, post("/v1/detections", "Bearer "+testToken, det("seen-1", 5, "")))
	if got.code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", got.code, got.body)
	}
	r := decodeResponse(t, got)
	m := r.Detections[0].Matched[0]
	if r.Started != 0 || r.Deduplicated != 1 || !r.Detections[0].Deduplicated || !m.Deduplicated || m.RunID != "old-run" ||
		m.URL != "http://ui.test/namespaces/default/workflows/high:"+d.Key()+"/old-run/history" {
		t.Errorf("response = %s", got.body)
	}
	if n := len(st.Starts()); n != 0 {
		t.Errorf("%d starts, want 0", n)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAPIDryRun(t *testing.T) {
	for _, tc := range []struct {
		name, query, body string
		dry               bool
	}{
		{"plain body", "", det("dr-1", 5, ""), false},
		{"query", "?dry_run=true", det("dr-1", 5, ""), true},
		{"query false", "?dry_run=false", det("dr-1", 5, ""), false},
		{"envelope", "", `{"dry_run": true, "detections": [` + det("dr-1", 5, "") + `]}`, true},
		{"envelope with whitespace", "", "\n  {\"detections\": [" + det("dr-1", 5, "") + "],\n \"dry_run\": true}\n", true},
		{"envelope false", "", `{"dry_run": false, "detections": [` + det("dr-1", 5, "") + `]}`, false},
		{"envelope without dry_run", "", `{"detections": [` + det("dr-1", 5, "") + `]}`, false},
		{"envelope false, query true", "?dry_run=true", `{"dry_run": false, "detections": [` + det("dr-1", 5, "") + `]}`, true},
		{"a detection with a detections field is not an envelope", "", det("dr-1", 5, `,"detections":[1,2]`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStarter{}
			h := newTestServer(t, st).Handler()
			got := serve(h, post("/v1/detections"+tc.query, "Bearer "+testToken, tc.body))
			if got.code != http.StatusAccepted {
				t.Fatalf("status %d: %s", got.code, got.body)
			}
			s := st.Starts()
			if len(s) != 1 {
				t.Fatalf("%d starts, want 1", len(s))
			}
			in, o := s[0].Input, s[0].Options
			if in.DryRun != tc.dry || strings.HasPrefix(o.ID, "dryrun:") != tc.dry {
				t.Errorf("dry run: input %v, workflow id %q; want %v", in.DryRun, o.ID, tc.dry)
			}
			wantMode := "live"
			if tc.dry {
				wantMode = "dry_run"
			}
			if m := decodeResponse(t, got).Detections[0].Matched[0]; m.Mode != wantMode || m.WorkflowID != o.ID {
				t.Errorf("match = %+v, want mode %s", m, wantMode)
			}
			if mode, ok := o.TypedSearchAttributes.GetKeyword(workflows.SARunMode); !ok || mode != wantMode {
				t.Errorf("RunMode search attribute %q, want %q", mode, wantMode)
			}
			if in.Detection["finding_info"].(map[string]any)["uid"] != "dr-1" {
				t.Errorf("detection = %v", in.Detection)
			}
		})
	}

	t.Run("dry runs repeat, each with its own id", func(t *testing.T) {
		st := &fakeStarter{}
		h := newTestServer(t, st).Handler()
		for i := 0; i < 2; i++ {
			if got := serve(h, post("/v1/detections?dry_run=true", "Bearer "+testToken, det("dr-2", 5, ""))); got.code != 202 {
				t.Fatalf("dry run %d: %d %s", i, got.code, got.body)
			}
		}
		if s := st.Starts(); len(s) != 2 || s[0].Options.ID == s[1].Options.ID {
			t.Errorf("starts = %+v", s)
		}
	})
	t.Run("a shadow playbook runs in shadow mode", func(t *testing.T) {
		st := &fakeStarter{}
		h := newTestServer(t, st).Handler()
		got := serve(h, post("/v1/detections", "Bearer "+testToken, det("sh-1", 1, `,"unmapped":{"gate":true}`)))
		s := st.Starts()
		if got.code != 202 || len(s) != 1 || !s[0].Input.Shadow || s[0].Input.DryRun || !strings.HasPrefix(s[0].Options.ID, "shadow:gated:") {
			t.Errorf("%d %s %+v", got.code, got.body, s)
		}
	})
}

func TestAPIRequesterIsPassedToTheRun(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"", DevSubmitter},
		{"W0ENTERPRISE1", "W0ENTERPRISE1"},
		{"  U012AB3CD \t", "U012AB3CD"},
	} {
		st := &fakeStarter{}
		h := newTestServer(t, st).Handler()
		r := post("/v1/detections", "Bearer "+testToken, det("req-1", 5, ""))
		if tc.header != "" {
			r.Header.Set("X-Riposte-Requester", tc.header)
		}
		if got := serve(h, r); got.code != 202 {
			t.Fatalf("status %d: %s", got.code, got.body)
		}
		if s := st.Starts(); len(s) != 1 || s[0].Input.Requester != tc.want {
			t.Errorf("header %q: requester %q, want %q", tc.header, s[0].Input.Requester, tc.want)
		}
	}
}

func TestAPITemporalUnavailable(t *testing.T) {
	st := &fakeStarter{failUID: "u-2"}
	h := newTestServer(t, st).Handler()
	body := det("u-1", 5, "") + "\n" + det("u-2", 5, "") + "\n" + det("u-3", 5, "")
	got := serve(h, post("/v1/detections", "Bearer "+testToken, body))
	checkProblem(t, got, problem.Problem{Title: "Temporal unavailable", Status: 503,
		Detail: `detection 1 could not be dispatched (starting playbook high for detection "u-2": fake temporal is down); 2 other detection(s) were dispatched; resending the request is safe`,
		Errors: []problem.FieldError{{Index: 1, Message: `not dispatched (starting playbook high for detection "u-2": fake temporal is down): resend it`}}})
	if s := st.Starts(); len(s) != 2 {
		t.Errorf("starts = %+v", s)
	}
	// Temporal is back: resending starts the rest and deduplicates the others.
	st.mu.Lock()
	st.failUID = ""
	st.mu.Unlock()
	got = serve(h, post("/v1/detections", "Bearer "+testToken, body))
	r := decodeResponse(t, got)
	if got.code != 202 || r.Started != 1 || r.Deduplicated != 2 {
		t.Errorf("resend: %d %s", got.code, got.body)
	}
	// Several failures are listed.
	st2 := &fakeStarter{failAt: 1}
	got = serve(newTestServer(t, st2).Handler(), post("/v1/detections", "Bearer "+testToken, body))
	checkProblem(t, got, problem.Problem{Title: "Temporal unavailable", Status: 503,
		Detail: `3 detections could not be dispatched (indexes 0, 1, 2; first: starting playbook high for detection "u-1": fake temporal is down); 0 other detection(s) were dispatched; resending the request is safe`,
		Errors: []problem.FieldError{
			{Index: 0, Message: `not dispatched (starting playbook high for detection "u-1": fake temporal is down): resend it`},
			{Index: 1, Message: `not dispatched (starting playbook high for detection "u-2": fake temporal is down): resend it`},
			{Index: 2, Message: `not dispatched (starting playbook high for detection "u-3": fake temporal is down): resend it`}}})
}

// One request's detections start concurrently (bounded) and are answered in
// the order received, even when later ones start first.
func TestAPIConcurrentIntakeKeepsOrder(t *testing.T) {
	const n = 40
	st := &fakeStarter{delay: func(id string) time.Duration {
		var i int
		_, _ = fmt.Sscanf(id[strings.LastIndex(id, "c-")+2:], "%d", &i)
		return time.Duration(n-i) * time.Millisecond
	}}
	srv := newTestServer(t, st)
	srv.IntakeConcurrency = 8
	srv.MaxBody = 1 << 20
	var body strings.Builder
	for i := range n {
		body.WriteString(det(fmt.Sprintf("c-%d", i), 5, "") + "\n")
	}
	got := serve(srv.Handler(), post("/v1/detections", "Bearer "+testToken, body.String()))
	r := decodeResponse(t, got)
	if got.code != 202 || r.Started != n || len(r.Detections) != n {
		t.Fatalf("%d %s", got.code, got.body)
	}
	for i, d := range r.Detections {
		if d.Index != i || d.DetectionID != fmt.Sprintf("c-%d", i) {
			t.Errorf("answer %d is detection %d %q", i, d.Index, d.DetectionID)
		}
	}
	if st.maxInFlight < 2 || st.maxInFlight > 8 {
		t.Errorf("%d starts at once, want 2..8", st.maxInFlight)
	}
}

// signallingStarter delivers signals only to runs it started, as the
// server does (NotFound otherwise).
type signallingStarter struct{ *fakeStarter }

func (s signallingStarter) SignalWorkflow(_ context.Context, id, _, _ string, _ any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.existing[id]; !ok {
		return serviceerror.NewNotFound("workflow not found")
	}
	return nil
}

// A forwarder's batch holds a finding's Create and, on the next line, its
// Close: the Close reaches the run the Create started, however long the
// start takes, while other findings still start concurrently.
func TestAPICloseInTheBatchOfItsCreate(t *testing.T) {
	st := &fakeStarter{delay: func(string) time.Duration { return 50 * time.Millisecond }}
	srv := newTestServer(t, st)
	srv.Dispatcher.Client = signallingStarter{st}
	srv.MaxBody = 1 << 20
	body := det("batch-1", 5, `,"activity_id":1,"status_id":1`) + "\n" + det("other-1", 5, "") + "\n" +
		det("batch-1", 5, `,"activity_id":3,"status_id":4`) + "\n" + det("other-2", 5, "") + "\n"
	got := serve(srv.Handler(), post("/v1/detections", "Bearer "+testToken, body))
	r := decodeResponse(t, got)
	if got.code != 202 || r.Started != 3 {
		t.Fatalf("%d %s", got.code, got.body)
	}
	wid := r.Detections[0].Matched[0].WorkflowID
	if c := r.Detections[2]; c.State != "withdrawn" || !slices.Contains(c.Signalled, wid) {
		t.Errorf("the Close (index 2) did not reach the run its batch started (%s): state %q, signalled %v, reason %q", wid, c.State, c.Signalled, c.Reason)
	}
	if st.maxInFlight < 2 {
		t.Errorf("%d starts at once: other findings must still start concurrently", st.maxInFlight)
	}
}

// logBuffer collects log output for the panic test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestAPIPanicBecomes500(t *testing.T) {
	internal := problem.Problem{Title: "Internal error", Status: 500, Detail: "the server could not handle the request"}
	secret := "secret-detail-in-panic-7731"
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		srv  func(*Server)
	}{
		{"in a route", func() *http.Request {
			r := httptest.NewRequest("GET", "/v1/boom", nil)
			r.Header.Set("Authorization", "Bearer "+testToken)
			return r
		}, func(s *Server) {
			s.Extra = map[string]http.Handler{"GET /v1/boom": http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				panic(errors.New(secret))
			})}
		}},
		{"in the starter", func() *http.Request {
			return post("/v1/detections", "Bearer "+testToken, det("p-1", 5, ""))
		}, func(s *Server) {
			s.Dispatcher.Client = &fakeStarter{panicMsg: secret}
		}},
		{"on a nil dependency", func() *http.Request {
			r := httptest.NewRequest("GET", "/v1/runs", nil)
			r.Header.Set("Authorization", "Bearer "+testToken)
			return r
		}, func(s *Server) { s.Temporal = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, &fakeStarter{})
			var logs logBuffer
			srv.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			tc.srv(srv)
			got := serve(srv.Handler(), tc.req())
			checkProblem(t, got, internal)
			for _, leak := range []string{secret, "goroutine", "panic", ".go:", "runtime"} {
				if strings.Contains(got.body, leak) {
					t.Errorf("the 500 body leaks %q: %s", leak, got.body)
				}
			}
			if !strings.Contains(logs.String(), "panic in API handler") {
				t.Errorf("panic not logged: %s", logs.String())
			}
		})
	}

	t.Run("http.ErrAbortHandler is not swallowed", func(t *testing.T) {
		srv := newTestServer(t, &fakeStarter{})
		srv.Extra = map[string]http.Handler{"GET /v1/abort": http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic(http.ErrAbortHandler)
		})}
		r := httptest.NewRequest("GET", "/v1/abort", nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", v)
			}
		}()
		serve(srv.Handler(), r)
	})
}

func TestAPIRoutingProblems(t *testing.T) {
	h := newTestServer(t, &fakeStarter{}).Handler()
	for _, tc := range []struct {
		method, path string
		status       int
		detail       string
		allow        string
	}{
		{"GET", "/v1/nope", 404, "no route for GET /v1/nope", ""},
		{"GET", "/", 404, "no route for GET /", ""},
		{"DELETE", "/v1/runs/x/y", 404, "no route for DELETE /v1/runs/x/y", ""},
		{"GET", "/v1/detections", 405, "GET /v1/detections: this path takes POST", "POST"},
		{"PUT", "/v1/detections", 405, "PUT /v1/detections: this path takes POST", "POST"},
		{"POST", "/v1/runs", 405, "POST /v1/runs: this path takes GET, HEAD", "GET, HEAD"},
		{"DELETE", "/v1/runs/abc", 405, "DELETE /v1/runs/abc: this path takes GET, HEAD", "GET, HEAD"},
		{"GET", "/v1/runs/abc/approvals", 405, "GET /v1/runs/abc/approvals: this path takes POST", "POST"},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		got := serve(h, r)
		title := "Not found"
		if tc.status == 405 {
			title = "Method not allowed"
		}
		checkProblem(t, got, problem.Problem{Title: title, Status: tc.status, Detail: tc.detail})
		if a := got.header.Get("Allow"); a != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, a, tc.allow)
		}
	}
}

func TestAPIRunsLimit(t *testing.T) {
	h := newTestServer(t, &fakeStarter{}).Handler()
	for _, l := range []string{"0", "-1", "1001", "ten", "1.5", "99999999999999999999"} {
		r := httptest.NewRequest("GET", "/v1/runs?limit="+l, nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		checkProblem(t, serve(h, r), problem.Problem{Title: "Bad limit", Status: 400, Detail: "limit must be an integer from 1 to 1000"})
	}
}

func TestAPIMalformedControlBodies(t *testing.T) {
	srv := newTestServer(t, &fakeStarter{})
	h := srv.Handler()
	for _, tc := range []struct {
		name, path, body string
		want             problem.Problem
	}{
		{"rollback with the unbound shared token", "/v1/runs/x/rollback", `{}`, problem.Problem{Title: "Token bound to no person", Status: 403,
			Detail: "the shared API token is bound to no identity, so it cannot decide: start riposte with RIPOSTE_USER=<your Slack user id> to bind it, or use a personal token (riposte tokens create --user U… --scope approve,operate)"}},
		{"rollback unknown field", "/v1/runs/x/rollback", `{"usr":"a"}`, problem.Problem{Title: "Malformed request", Status: 400,
			Detail: `body must be {"user": "...", "run_id": "..."}: json: unknown field "usr"`}},
		{"extend bad duration", "/v1/runs/x/extend", `{"step":"s","by":"forever","user":"u"}`, problem.Problem{Title: "Malformed request", Status: 400,
			Detail: `by: "forever" is not a duration; use e.g. 30m, 4h or 2d (at most 365d)`}},
		{"extend all given, bad duration", "/v1/runs/x/extend", `{"step":"block","by":"4x","user":"U1"}`, problem.Problem{Title: "Malformed request", Status: 400,
			Detail: `by: "4x" is not a duration; use e.g. 30m, 4h or 2d (at most 365d)`}},
		{"extend with the unbound shared token", "/v1/runs/x/extend", `{"step":"block","by":"4h"}`, problem.Problem{Title: "Token bound to no person", Status: 403,
			Detail: "the shared API token is bound to no identity, so it cannot decide: start riposte with RIPOSTE_USER=<your Slack user id> to bind it, or use a personal token (riposte tokens create --user U… --scope approve,operate)"}},
		{"safe mode with the unbound shared token", "/v1/policy/safe-mode", `{"enabled":true}`, problem.Problem{Title: "Token bound to no person", Status: 403,
			Detail: "the shared API token is bound to no identity, so it cannot decide: start riposte with RIPOSTE_USER=<your Slack user id> to bind it, or use a personal token (riposte tokens create --user U… --scope approve,operate)"}},
		{"approvals unavailable", "/v1/runs/x/approvals", `{}`, problem.Problem{Title: "Approvals unavailable", Status: 501, Detail: "this server has no approval service"}},
		{"reload unavailable", "/v1/playbooks/reload", ``, problem.Problem{Title: "Reload unavailable", Status: 501, Detail: "this server does not load playbooks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkProblem(t, serve(h, post(tc.path, "Bearer "+testToken, tc.body)), tc.want)
		})
	}
}
