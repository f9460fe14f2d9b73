package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/workflows"
)

// TestOutcomesOnEmbeddedServer: a denied containment is a decision (the
// ticket and page still run, the run completes not_contained), and a hold
// shows its release time everywhere until a rollback ends it, after which
// both runs show the rollback.
func TestOutcomesOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()

	t.Run("deny", func(t *testing.T) {
		code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"deny-1"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.91"},"unmapped":{"deny_case":true}}`)
		if code != 202 {
			t.Fatalf("submit: %d", code)
		}
		wid := matched(t, r, "e2e-deny")
		h.waitStep(wid, "block", "waiting_approval")
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/approvals", h.tokenFor("URECORDER"), `{"step":"block","decision":"deny","user":"URECORDER","reason":"shared CDN address"}`)
			if code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("deny: %d %s", code, b)
			}
			time.Sleep(200 * time.Millisecond)
		}
		d := h.waitRun(wid, time.Minute)
		if d.Temporal != "completed" || d.Status != workflows.RunSucceeded || d.Outcome != workflows.OutcomeNotContained || d.OutcomeDetail != "block denied by URECORDER" {
			t.Errorf("run = temporal %s, status %s, outcome %s %q, error %q", d.Temporal, d.Status, d.Outcome, d.OutcomeDetail, d.Error)
		}
		st := map[string]string{}
		for _, s := range d.Steps {
			st[s.ID] = s.Status
		}
		if st["block"] != "denied" || st["ticket"] != "succeeded" || st["page"] != "succeeded" {
			t.Errorf("steps = %v", st)
		}
		lab := h.sys.Lab.State()
		if len(lab.BlockedIPs) != 0 {
			t.Errorf("denied block happened: %+v", lab.BlockedIPs)
		}
		ticket, page := false, false
		for _, tk := range lab.Tickets {
			ticket = ticket || tk.Summary == "C2 to 203.0.113.91: block denied"
		}
		for _, p := range lab.Pages {
			page = page || p.Summary == "C2 to 203.0.113.91 not blocked"
		}
		if !ticket || !page {
			t.Errorf("ticket %v, page %v in the lab: %+v %+v", ticket, page, lab.Tickets, lab.Pages)
		}
		// The run is listed in the UI under its playbook's name.
		if typ := workflowType(t, h, wid); typ != "e2e-deny" {
			t.Errorf("workflow type %q, want the playbook's name", typ)
		}
		// The approval timer is labelled for the UI's timeline.
		if s := timerSummaries(t, h, wid); len(s) != 1 || !strings.HasPrefix(s[0], "approval for block: times out in ") || !strings.HasSuffix(s[0], "(then deny)") {
			t.Errorf("timer summaries = %q", s)
		}
		// The Outcome search attribute is set and filterable.
		runs := h.listRuns(t, "outcome=not_contained")
		if len(runs) != 1 || runs[0].WorkflowID != wid || runs[0].Outcome != workflows.OutcomeNotContained {
			t.Errorf("runs with outcome not_contained = %+v", runs)
		}
	})

	t.Run("failure through the codec", func(t *testing.T) { failureThroughCodec(t, h) })

	t.Run("hold and rollback", func(t *testing.T) {
		code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"hold-1"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.92"},"unmapped":{"hold_case":true}}`)
		if code != 202 {
			t.Fatalf("submit: %d", code)
		}
		wid := matched(t, r, "e2e-hold")
		start := time.Now()
		h.waitStep(wid, "block", "succeeded")
		var d api.RunDetail
		deadline := time.Now().Add(30 * time.Second)
		for {
			d = h.runDetail(t, wid)
			if d.Status == workflows.RunHolding && d.HoldUntil != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run never showed holding with hold_until: %+v", d.RunSummary)
			}
			time.Sleep(150 * time.Millisecond)
		}
		if len(d.Holds) != 1 || d.Holds[0].Step != "block" || d.Holds[0].Until.Sub(start) < 2*time.Hour-time.Minute || d.Holds[0].Until.Sub(start) > 2*time.Hour+time.Minute {
			t.Errorf("holds = %+v", d.Holds)
		}
		if !d.HoldUntil.Equal(d.Holds[0].Until) {
			t.Errorf("hold_until %s, hold until %s", d.HoldUntil, d.Holds[0].Until)
		}
		// Lists read the visibility store, which Temporal updates after
		// the run's history (eventually consistent: a queue's task).
		h.eventually(t, func() string {
			code, b := h.do("GET", "/v1/holds", h.token, "")
			var holds struct {
				Holds []api.ActiveHold `json:"holds"`
			}
			if code != 200 || json.Unmarshal(b, &holds) != nil || len(holds.Holds) != 1 || holds.Holds[0].WorkflowID != wid || !holds.Holds[0].Until.Equal(d.Holds[0].Until) {
				return fmt.Sprintf("GET /v1/holds: %d %s", code, b)
			}
			return ""
		})
		if runs := h.listRuns(t, "status=holding"); len(runs) != 1 || runs[0].HoldUntil == nil {
			t.Errorf("holding runs = %+v", runs)
		}
		// The details the Temporal UI shows carry the release time.
		c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default", DataConverter: codec.NewDataConverter(h.sys.Keys)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		v, err := c.QueryWorkflow(t.Context(), wid, "", "__temporal_workflow_metadata")
		if err != nil {
			t.Fatal(err)
		}
		var md sdkpb.WorkflowMetadata
		if err := v.Get(&md); err != nil {
			t.Fatal(err)
		}
		text := md.GetCurrentDetails()
		if !strings.Contains(text, "releases at **"+d.Holds[0].Until.UTC().Format(time.RFC3339)+"**") {
			t.Errorf("current details lack the release time:\n%s", text)
		}
		// The hold's timer is labelled for the UI's timeline.
		summaries := timerSummaries(t, h, wid)
		if len(summaries) != 1 || summaries[0] != "contain_for: release block at "+d.Holds[0].Until.UTC().Format(time.RFC3339)+" (panos.unblock_ip)" {
			t.Errorf("timer summaries = %q", summaries)
		}

		code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("UROLLER"), `{"user":"UROLLER"}`)
		if code != 202 {
			t.Fatalf("rollback: %d %s", code, b)
		}
		rb := h.waitRun("rollback:"+wid, time.Minute)
		if rb.Kind != api.KindRollback || rb.RollbackOf != wid || rb.RequestedBy != "UROLLER" || rb.Error != "" || len(rb.Steps) != 1 || rb.Steps[0].Status != "succeeded" {
			t.Errorf("rollback run = %+v", rb)
		}
		orig := h.waitRun(wid, time.Minute)
		if orig.RolledBackBy != "UROLLER" || orig.RolledBackAt == nil || orig.RollbackRun != "rollback:"+wid {
			t.Errorf("original run = %+v", orig.RunSummary)
		}
		wantNote(t, h, wid, `^rolled back by UROLLER at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(.+\)$`)
		if len(orig.Holds) != 1 || orig.Holds[0].ReleasedAt == nil || time.Since(start) > 90*time.Second {
			t.Errorf("holds after rollback = %+v", orig.Holds)
		}
		if n := len(h.sys.Lab.State().BlockedIPs); n != 0 {
			t.Errorf("still blocked after rollback: %d", n)
		}
		rolled := h.listRuns(t, "kind=rollback")
		if len(rolled) != 1 || rolled[0].WorkflowID != "rollback:"+wid {
			t.Errorf("kind=rollback = %+v", rolled)
		}
		h.eventually(t, func() string {
			runs := h.listRuns(t, "")
			for _, s := range runs {
				if s.WorkflowID == wid {
					if s.RolledBackBy != "UROLLER" {
						return fmt.Sprintf("list shows the original without its rollback: %+v", s)
					}
					return ""
				}
			}
			return fmt.Sprintf("the original %s is not in the list: %+v", wid, runs)
		})
	})
}

// failureThroughCodec: a failed run's history shows a readable failure
// message that quotes no detection data, and the codec endpoint the UI uses
// decodes the encrypted reason.
func failureThroughCodec(t *testing.T, h *devHarness) {
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"fail-1"},"metadata":{"product":{"name":"x"}},"device":{"hostname":"secret-host-77"},"unmapped":{"fail_case":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-fail")
	d := h.waitRun(wid, time.Minute)
	if d.Status != workflows.RunFailed || d.Outcome != workflows.OutcomeFailed || !strings.Contains(d.Error, "refused by the vendor") {
		t.Errorf("run = %s / %s / %q", d.Status, d.Outcome, d.Error)
	}
	if len(d.Steps) != 2 || d.Steps[1].Status != "succeeded" {
		t.Errorf("always: step after the abort = %+v", d.Steps)
	}
	// The raw history, as the UI gets it from the server.
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hist := fetchHistory(t, c, wid, "")
	var runFailure, actFailure *failurepb.Failure
	localStep := false
	for _, e := range hist.GetEvents() {
		if a := e.GetWorkflowExecutionFailedEventAttributes(); a != nil {
			runFailure = a.GetFailure()
		}
		if a := e.GetActivityTaskFailedEventAttributes(); a != nil {
			actFailure = a.GetFailure()
		}
		// core.* steps run as local activities: their failure is on the
		// step's marker (see workflows.LocalStep).
		if a := e.GetMarkerRecordedEventAttributes(); a != nil && a.GetFailure() != nil {
			actFailure, localStep = a.GetFailure(), true
		}
	}
	if runFailure == nil || actFailure == nil {
		t.Fatalf("no failure events in the history")
	}
	if got := runFailure.GetMessage(); got != "run failed: step boom failed (core.fail); the reason is in the run's result" {
		t.Errorf("run failure message in the history = %q", got)
	}
	if got := actFailure.GetMessage(); got != "CoreFail (message encrypted: the codec endpoint decodes it)" {
		t.Errorf("activity failure message in the history = %q", got)
	}
	raw, _ := protojson.Marshal(hist)
	if strings.Contains(string(raw), "secret-host-77") {
		t.Error("the detection's hostname is in the history in clear")
	}
	// What the UI does: POST the encrypted attributes and details to the
	// codec endpoint.
	decode := func(p *commonpb.Payload) string {
		body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
		req, _ := http.NewRequest("POST", h.baseURL+"/codec/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+h.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out commonpb.Payloads
		if resp.StatusCode != 200 || protojson.Unmarshal(b, &out) != nil || len(out.GetPayloads()) != 1 {
			t.Fatalf("codec decode: %d %s", resp.StatusCode, b)
		}
		return string(out.GetPayloads()[0].GetData())
	}
	got := decode(actFailure.GetEncodedAttributes())
	if d := actFailure.GetApplicationFailureInfo().GetDetails().GetPayloads(); localStep && len(d) == 1 {
		// A local step's reason is in its failure's (encrypted) details
		// (engine.SealLocalFailure).
		got = decode(d[0])
	}
	if !strings.Contains(got, "lookup of secret-host-77 refused by the vendor") {
		t.Errorf("decoded activity failure = %s", got)
	}
	details := runFailure.GetApplicationFailureInfo().GetDetails().GetPayloads()
	if len(details) != 1 {
		t.Fatalf("run failure details = %v", details)
	}
	if got := decode(details[0]); !strings.Contains(got, "step boom failed: lookup of secret-host-77 refused by the vendor") || !strings.Contains(got, `"outcome":"failed"`) {
		t.Errorf("decoded run failure details = %.300s", got)
	}
}

// workflowType is the run's workflow type as the server has it.
func workflowType(t *testing.T, h *devHarness, wid string) string {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d, err := c.DescribeWorkflowExecution(t.Context(), wid, "")
	if err != nil {
		t.Fatal(err)
	}
	return d.GetWorkflowExecutionInfo().GetType().GetName()
}

// timerSummaries decrypts the summaries of a run's timers.
func timerSummaries(t *testing.T, h *devHarness, wid string) []string {
	t.Helper()
	return eventSummaries(t, h, wid, func(e *historypb.HistoryEvent) bool { return e.GetTimerStartedEventAttributes() != nil })
}

// markerNotes decrypts the summaries of a run's markers: what each Update
// and signal that changed the run did, as the UI's timeline shows it.
func markerNotes(t *testing.T, h *devHarness, wid string) []string {
	t.Helper()
	return eventSummaries(t, h, wid, func(e *historypb.HistoryEvent) bool {
		return e.GetMarkerRecordedEventAttributes() != nil && e.GetUserMetadata().GetSummary() != nil
	})
}

// eventSummaries decrypts the summaries of the run's events that pick
// selects.
func eventSummaries(t *testing.T, h *devHarness, wid string, pick func(*historypb.HistoryEvent) bool) []string {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []string
	for _, e := range fetchHistory(t, c, wid, "").GetEvents() {
		if pick(e) {
			var s string
			if err := codec.NewDataConverter(h.sys.Keys).FromPayload(e.GetUserMetadata().GetSummary(), &s); err != nil {
				t.Errorf("event %d (%s) summary: %v", e.GetEventId(), e.GetEventType(), err)
			}
			out = append(out, s)
		}
	}
	return out
}

// wantNote checks that one of a run's marker summaries matches re
// (README, "Temporal UI": the timeline says what each change did).
func wantNote(t *testing.T, h *devHarness, wid, re string) {
	t.Helper()
	notes := markerNotes(t, h, wid)
	for _, n := range notes {
		if regexp.MustCompile(re).MatchString(n) {
			return
		}
	}
	t.Errorf("%s: no marker summary matches %q in %q", wid, re, notes)
}

func (h *devHarness) runDetail(t *testing.T, wid string) api.RunDetail {
	t.Helper()
	return h.runDetailOf(t, wid, "")
}

// runDetailOf is GET /v1/runs/{wid}?run_id=rid: run rid ("" the latest).
func (h *devHarness) runDetailOf(t *testing.T, wid, rid string) api.RunDetail {
	t.Helper()
	path := "/v1/runs/" + url.PathEscape(wid)
	if rid != "" {
		path += "?run_id=" + url.QueryEscape(rid)
	}
	code, b := h.do("GET", path, h.token, "")
	var d api.RunDetail
	if code != 200 || json.Unmarshal(b, &d) != nil {
		t.Fatalf("GET run %s: %d %s", wid, code, b)
	}
	return d
}

// eventually retries check, which returns what is wrong or "", until it
// passes or 10 seconds have passed; then it reports the last problem.
func (h *devHarness) eventually(t *testing.T, check func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Error(msg)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// listRuns lists runs with the query, waiting for visibility to catch up.
func (h *devHarness) listRuns(t *testing.T, query string) []api.RunSummary {
	t.Helper()
	var out struct {
		Runs []api.RunSummary `json:"runs"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, b := h.do("GET", "/v1/runs?"+query, h.token, "")
		if code != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("GET /v1/runs?%s: %d %s", query, code, b)
		}
		if len(out.Runs) > 0 || time.Now().After(deadline) {
			return out.Runs
		}
		time.Sleep(200 * time.Millisecond)
	}
}
