package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/workflows"
)

// fuzzMaxBody is small enough for the fuzzer to reach, large enough for
// an array of a few example detections.
const fuzzMaxBody = 16 << 10

// Bits of FuzzDetectionsHandler's mode argument.
const (
	fuzzChunked   = 1 << iota // send without Content-Length
	fuzzNoToken               // no Authorization header: must be 401
	fuzzBadToken              // a wrong token: must be 401
	fuzzRequester             // send X-Riposte-Requester
)

// FuzzDetectionsHandler drives POST /v1/detections of the real handler
// (auth, body limit, envelope, decoding, validation, dispatch) on a fake
// Temporal with arbitrary bodies and checks that it never panics, never
// answers 5xx except the 503 of a failing Temporal, never starts a run for
// a body the validator rejects, and answers in bounded time.
//
//	go test -run='^$' -fuzz=FuzzDetectionsHandler -fuzztime=30s -fuzzminimizetime=5s ./internal/api/
//
// Arguments: the body, the ?dry_run= value ("" = no query), the 1-based
// start at which the fake Temporal fails (0 = never) and mode bits.
func FuzzDetectionsHandler(f *testing.F) {
	var examples [][]byte
	for _, pattern := range []string{"../../examples/*.json", "../../examples/*.ndjson"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			examples = append(examples, b)
		}
	}
	if len(examples) < 4 {
		f.Fatalf("found %d example files, want at least 4", len(examples))
	}
	for _, b := range examples {
		f.Add(b, "", uint8(0), uint8(0))
		f.Add(b, "true", uint8(0), uint8(fuzzChunked))
		compact := new(bytes.Buffer)
		if json.Compact(compact, b) == nil {
			f.Add([]byte("["+compact.String()+","+compact.String()+"]"), "", uint8(2), uint8(fuzzRequester))
			f.Add([]byte(`{"dry_run": true, "detections": [`+compact.String()+`]}`), "", uint8(0), uint8(0))
			f.Add([]byte(`{"detections": [`+compact.String()+`], "dry_run": false}`), "true", uint8(0), uint8(0))
			f.Add([]byte(compact.String()+"\n"+compact.String()+"\r\n\n"), "1", uint8(0), uint8(fuzzChunked))
		}
	}
	d := det("fz-1", 5, "")
	for _, s := range []string{
		"", " ", "{}", "[]", "[{}]", "null", "42", `"x"`, "{}\n{}", "[{},]", `{"a":1`, `{"a":1,"a":2}`, `{"a":1e999}`,
		"\xEF\xBB\xBF" + d, "[" + d + "," + d + "]", d + "\n" + d, d + " " + d, "[" + d + ", 7]", d + "\n{",
		`{"detections": []}`, `{"detections": null}`, `{"detections": "x"}`, `{"detections": [1]}`, `{"detections": {}}`,
		`{"dry_run": "true", "detections": [` + d + `]}`, `{"dryrun": true, "detections": [` + d + `]}`,
		`{"class_uid": null, "detections": [` + d + `]}`, `{"dry_run": true, "detections": [` + d + `], "detections": []}`,
		`{"dry_run": true, "detections": [{"dry_run": true, "detections": [` + d + `]}]}`,
		det("fz-2", 5, `,"unmapped":{"gate":true}`), det("fz-3", 1, `,"unmapped":{"boom":true}`),
		`{"class_uid":1001,"severity_id":7,"time":"x","confidence_score":150,"metadata":{"product":{}},"finding_info":{"uid":""}}`,
		"[" + strings.Repeat("{},", 1200) + "{}]", strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70),
	} {
		f.Add([]byte(s), "", uint8(0), uint8(0))
	}
	f.Add([]byte(d), "maybe", uint8(0), uint8(0))
	f.Add([]byte(d), "\"-m\xc7", uint8(0), uint8(fuzzChunked))
	f.Add([]byte(d), "", uint8(0), uint8(fuzzNoToken))
	f.Add([]byte(d), "true", uint8(1), uint8(fuzzBadToken|fuzzChunked))
	f.Add([]byte(d+"\n"+det("fz-4", 6, "")), "", uint8(2), uint8(0))

	v, err := testValidator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, dryRun string, failAt, mode uint8) {
		st := &fakeStarter{failAt: int(failAt)}
		srv := newTestServer(t, st)
		srv.MaxBody = fuzzMaxBody
		h := srv.Handler()

		target := "/v1/detections"
		if dryRun != "" {
			target += "?dry_run=" + url.QueryEscape(dryRun)
		}
		r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		if mode&fuzzChunked != 0 {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = -1
		}
		switch {
		case mode&fuzzNoToken != 0:
		case mode&fuzzBadToken != 0:
			r.Header.Set("Authorization", "Bearer "+testToken+"-not")
		default:
			r.Header.Set("Authorization", "Bearer "+testToken)
		}
		if mode&fuzzRequester != 0 {
			r.Header.Set("X-Riposte-Requester", "U0FUZZREQ1")
		}

		begin := time.Now()
		got := serve(h, r)
		if d := time.Since(begin); d > 5*time.Second {
			t.Fatalf("the handler took %s", d)
		}
		starts := st.Starts()
		st.mu.Lock()
		failed := failAt > 0 && st.calls >= int(failAt)
		st.mu.Unlock()

		// Status: 401 without the right token, otherwise only the
		// documented answers; 5xx only when the fake failed.
		wantAuthFail := mode&(fuzzNoToken|fuzzBadToken) != 0
		switch {
		case wantAuthFail:
			if got.code != http.StatusUnauthorized {
				t.Fatalf("status %d without the right token: %s", got.code, got.body)
			}
		case got.code == http.StatusServiceUnavailable:
			if !failed {
				t.Fatalf("503 while the fake Temporal works: %s", got.body)
			}
		case got.code == http.StatusOK, got.code == http.StatusAccepted, got.code == http.StatusBadRequest, got.code == http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", got.code, got.body)
		}
		if failed && got.code != http.StatusServiceUnavailable && !wantAuthFail {
			t.Fatalf("the fake Temporal failed but the status is %d: %s", got.code, got.body)
		}
		for _, leak := range []string{"goroutine ", ".go:", "panic"} {
			if strings.Contains(got.body, leak) {
				t.Fatalf("the response leaks %q: %s", leak, got.body)
			}
		}

		// Refusals start nothing.
		if got.code >= 400 && got.code != http.StatusServiceUnavailable && len(starts) > 0 {
			t.Fatalf("status %d, yet %d workflow(s) started", got.code, len(starts))
		}
		if got.code >= 400 {
			checkFuzzProblem(t, got)
			if !bytes.Contains(body, []byte(`"detections"`)) {
				checkProblemPosition(t, got, body)
			}
		}
		if int64(len(body)) > fuzzMaxBody && len(starts) > 0 {
			t.Fatalf("%d workflow(s) started for a %d byte body over the %d byte limit", len(starts), len(body), fuzzMaxBody)
		}

		// Whatever started is a detection the validator accepts, in the
		// mode asked for, with the requester.
		for _, s := range starts {
			if s.Input.Playbook == nil || s.Workflow != workflows.PlaybookWorkflowType(s.Input.Playbook.Name) {
				t.Fatalf("started workflow %v", s.Workflow)
			}
			if errs := v.Validate([]intake.Detection{s.Input.Detection}); len(errs) > 0 {
				t.Fatalf("started a run for a detection the validator rejects: %v", errs)
			}
			queryDry, _ := strconv.ParseBool(dryRun)
			if queryDry && !s.Input.DryRun {
				t.Fatalf("?dry_run=true, yet a live run started: %s", s.Options.ID)
			}
			if s.Input.DryRun != strings.HasPrefix(s.Options.ID, "dryrun:") {
				t.Fatalf("dry run %v with workflow id %q", s.Input.DryRun, s.Options.ID)
			}
			if s.Input.DryRun && !queryDry {
				var env struct {
					DryRun bool `json:"dry_run"`
				}
				if json.Unmarshal(body, &env) != nil || !env.DryRun {
					t.Fatalf("a dry run started, but neither the query nor the body asked for one")
				}
			}
			wantReq := DevSubmitter
			if mode&fuzzRequester != 0 {
				wantReq = "U0FUZZREQ1"
			}
			if s.Input.Requester != wantReq {
				t.Fatalf("requester %q, want %q", s.Input.Requester, wantReq)
			}
		}

		// A dry_run query that is not a boolean is refused whatever the
		// body says (413 still wins for an oversized body).
		_, queryErr := strconv.ParseBool(dryRun)
		badQuery := dryRun != "" && queryErr != nil
		if badQuery && !wantAuthFail {
			if got.code != http.StatusBadRequest && got.code != http.StatusRequestEntityTooLarge {
				t.Fatalf("?dry_run=%q, yet status %d: %s", dryRun, got.code, got.body)
			}
			if got.code == http.StatusBadRequest && !strings.Contains(got.body, "dry_run") {
				t.Fatalf("?dry_run=%q refused without naming the parameter: %s", dryRun, got.body)
			}
		}

		// A body that is not an envelope is judged by the decoder and the
		// validator alone: when they refuse it, the handler must too.
		if !bytes.Contains(body, []byte(`"detections"`)) && !wantAuthFail && !badQuery {
			dets, err := intake.Decode(bytes.NewReader(body), intake.DecodeOptions{MaxBytes: fuzzMaxBody})
			rejected := err != nil || len(v.Validate(dets)) > 0
			if rejected && (got.code < 400 || len(starts) > 0) {
				t.Fatalf("the validator rejects the body, yet status %d and %d start(s)", got.code, len(starts))
			}
			if !rejected && got.code != http.StatusOK && got.code != http.StatusAccepted && got.code != http.StatusServiceUnavailable {
				t.Fatalf("the validator accepts the body, yet status %d: %s", got.code, got.body)
			}
			if !rejected && got.code < 300 {
				checkStartedDetections(t, dets, starts)
			}
		}

		// A success answer describes exactly the runs started.
		if got.code == http.StatusOK || got.code == http.StatusAccepted {
			var resp DetectionsResponse
			if err := json.Unmarshal([]byte(got.body), &resp); err != nil {
				t.Fatalf("success body is not JSON: %v: %s", err, got.body)
			}
			if resp.Started != len(starts) || (resp.Started > 0) != (got.code == http.StatusAccepted) {
				t.Fatalf("status %d, started %d, deduplicated %d; %d recorded start(s)", got.code, resp.Started, resp.Deduplicated, len(starts))
			}
		}
	})
}

// checkStartedDetections checks every start carries one of the decoded
// detections, unchanged.
func checkStartedDetections(t *testing.T, dets []intake.Detection, starts []start) {
	t.Helper()
	for _, s := range starts {
		found := false
		for _, d := range dets {
			if reflect.DeepEqual(map[string]any(d), s.Input.Detection) {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("started run %s carries a detection that is not in the body", s.Options.ID)
		}
	}
}

var positionRe = regexp.MustCompile(`line (\d+), column (\d+) \(byte offset (\d+)\)`)

// checkProblemPosition checks that a position named in a problem is inside
// the body and that its line and column agree with its byte offset.
func checkProblemPosition(t *testing.T, got response, body []byte) {
	t.Helper()
	for _, m := range positionRe.FindAllStringSubmatch(got.body, -1) {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		off, _ := strconv.Atoi(m[3])
		if off > len(body) {
			t.Fatalf("position %q is past the end of the %d byte body", m[0], len(body))
		}
		prefix := body[:off]
		wantLine := 1 + bytes.Count(prefix, []byte{'\n'})
		wantCol := off - (bytes.LastIndexByte(prefix, '\n') + 1) + 1
		if line != wantLine || col != wantCol {
			t.Fatalf("position %q: byte offset %d is line %d, column %d", m[0], off, wantLine, wantCol)
		}
	}
}

// checkFuzzProblem checks an error answer is a well-formed problem document.
func checkFuzzProblem(t *testing.T, got response) {
	t.Helper()
	if ct := got.header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("status %d with Content-Type %q", got.code, ct)
	}
	var p problem.Problem
	dec := json.NewDecoder(strings.NewReader(got.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body does not decode: %v: %s", err, got.body)
	}
	if p.Status != got.code || p.Title == "" || p.Type == "" || p.Detail == "" {
		t.Fatalf("problem %+v for status %d", p, got.code)
	}
	if strings.Contains(p.Detail, "line 0, column 0") {
		t.Fatalf("problem detail has no real position: %q", p.Detail)
	}
	for _, e := range p.Errors {
		if e.Index < 0 || e.Message == "" {
			t.Fatalf("problem error %+v", e)
		}
	}
}
