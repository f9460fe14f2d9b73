package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riposte-dev/riposte/internal/problem"
)

// temporalBlobLimit refuses, as the Temporal server does, a start whose
// input payload is over its default blob size limit (2 MiB,
// limit.blobSize.error): serviceerror.InvalidArgument "Blob data size
// exceeds limit." (common.ErrBlobSizeExceedsLimit). The payload is encoded
// by the SDK's default data converter, as riposte serve sends it without
// payload compression (the default of serve and worker).
type temporalBlobLimit struct{ *fakeStarter }

const temporalBlobLimitBytes = 2 << 20

func (t temporalBlobLimit) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	p, err := converter.GetDefaultDataConverter().ToPayloads(args...)
	if err != nil {
		return nil, err
	}
	size := 0
	for _, pl := range p.GetPayloads() {
		size += len(pl.GetData())
	}
	if size > temporalBlobLimitBytes {
		return nil, serviceerror.NewInvalidArgument("Blob data size exceeds limit.")
	}
	return t.fakeStarter.ExecuteWorkflow(ctx, o, wf, args...)
}

// A detection well under the body limit can be over Temporal's payload
// limit once encoded (Go's JSON escapes <, > and & as \u003c: a captured
// script or HTML body in an AI-written description grows six-fold).
// Temporal refuses that start as InvalidArgument: resending can never
// help. The API answered the whole request 503 "Temporal unavailable …
// resending the request is safe", with no Retry-After, so a producer (Vector,
// Fluent Bit, Logstash: all retry 5xx) resends the batch forever — and each
// resend re-signals the runs of the other detections — while the refused
// detection is never reported as refused. It must be refused alone (413
// naming it, like an over-long uid), the rest answered as usual.
func TestAPITemporalRefusalIsNotA503(t *testing.T) {
	st := &fakeStarter{}
	s := newTestServer(t, st)
	s.Dispatcher.Client = temporalBlobLimit{st}
	s.MaxBody = 1 << 20 // the default
	h := s.Handler()
	script := strings.Repeat("<td>&nbsp;</td>", 60000) // 900 KB of an HTML table, 2.4 MB encoded
	big := det("big-1", 5, `,"finding_info":{"uid":"big-1","title":"HTML smuggling","desc":"`+script+`"}`)
	big = strings.Replace(big, `"finding_info":{"uid":"big-1","title":"LSASS dump"},`, "", 1)
	if len(big) > 1<<20 {
		t.Fatalf("premise: the detection is %d bytes, over the body limit", len(big))
	}
	body := det("ok-1", 5, "") + "\n" + big + "\n" + det("ok-2", 5, "")
	for attempt := 1; attempt <= 2; attempt++ {
		got := serve(h, post("/v1/detections", "Bearer "+testToken, body))
		if got.code == http.StatusServiceUnavailable {
			t.Fatalf("attempt %d: 503 (Retry-After %q) for a detection Temporal refuses as invalid: a producer retries it forever: %.400s",
				attempt, got.header.Get("Retry-After"), got.body)
		}
		if attempt == 1 && got.code != http.StatusAccepted {
			t.Fatalf("status %d, want 202: %.400s", got.code, got.body)
		}
		r := decodeResponse(t, got)
		if len(r.Detections) != 3 {
			t.Fatalf("%d outcomes, want 3: %.400s", len(r.Detections), got.body)
		}
		bad := r.Detections[1]
		if bad.Index != 1 || bad.Status != http.StatusRequestEntityTooLarge || bad.State != "refused" || len(bad.Problems) != 1 ||
			!strings.Contains(bad.Problems[0].Message, "Blob data size exceeds limit") {
			t.Errorf("attempt %d: outcome of the refused detection = %+v", attempt, bad)
		}
		for _, i := range []int{0, 2} {
			if o := r.Detections[i]; o.Status != 0 || len(o.Matched) != 1 || o.Matched[0].Deduplicated != (attempt == 2) {
				t.Errorf("attempt %d: outcome %d = %+v", attempt, i, o)
			}
		}
	}
	if n := len(st.Starts()); n != 2 {
		t.Errorf("%d runs started, want 2", n)
	}

	// A request whose only detection Temporal refuses is a 413 problem
	// naming it.
	got := serve(h, post("/v1/detections", "Bearer "+testToken, big))
	if got.code != http.StatusRequestEntityTooLarge || !strings.Contains(got.body, "Blob data size exceeds limit") {
		t.Errorf("only a refused detection: %d %.400s; want 413 naming it", got.code, got.body)
	}
}

// Temporal unreachable or overloaded (Unavailable, ResourceExhausted) is
// a 503 the caller should retry: RFC 9110 §10.2.3, Retry-After says when.
func TestAPITemporalUnavailableSaysRetryAfter(t *testing.T) {
	h := newTestServer(t, &fakeStarter{failUID: "u-2"}).Handler()
	got := serve(h, post("/v1/detections", "Bearer "+testToken, det("u-1", 5, "")+"\n"+det("u-2", 5, "")))
	if got.code != http.StatusServiceUnavailable || got.header.Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", got.code, got.header.Get("Retry-After"))
	}
	if ct := got.header.Get("Content-Type"); ct != problem.ContentType {
		t.Errorf("Content-Type %q", ct)
	}
}

// Temporal down for one detection and refusing another: 503 to retry,
// naming the refused one in errors, and the count of those dispatched
// leaves it out.
func TestAPITemporalDownAndRefusedInOneBatch(t *testing.T) {
	st := &fakeStarter{failUID: "u-2"}
	s := newTestServer(t, st)
	s.Dispatcher.Client = temporalBlobLimit{st}
	s.MaxBody = 1 << 20
	big := det("big-1", 5, `,"unmapped":{"html":"`+strings.Repeat("<td>&nbsp;</td>", 60000)+`"}`)
	got := serve(s.Handler(), post("/v1/detections", "Bearer "+testToken, det("u-1", 5, "")+"\n"+det("u-2", 5, "")+"\n"+big))
	if got.code != http.StatusServiceUnavailable || got.header.Get("Retry-After") == "" {
		t.Fatalf("%d (Retry-After %q) %.300s", got.code, got.header.Get("Retry-After"), got.body)
	}
	if !strings.Contains(got.body, "1 other detection(s) were dispatched") || !strings.Contains(got.body, `"index":2`) || !strings.Contains(got.body, "Blob data size exceeds limit") {
		t.Errorf("503 body %.600s; want 1 other dispatched and detection 2 named as refused", got.body)
	}
}
