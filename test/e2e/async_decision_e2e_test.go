package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/workflows"
)

// TestAsyncDecisionOnEmbeddedServer: "Prefer: respond-async" sends a
// decision as a signal and answers 202 once it is recorded; the run checks
// it with the gate's rules all the same. A vote they refuse leaves the gate
// pending and is kept on the gate with why; an approver's vote opens it;
// unknown and ended runs are refused at once, as without the header.
func TestAsyncDecisionOnEmbeddedServer(t *testing.T) {
	h, _, wid := waitingAtGate(t, "async-1")
	path := "/v1/runs/" + url.PathEscape(wid) + "/approvals"

	// Someone who is not an approver: accepted for delivery, refused by the run.
	code, hdr, b := h.doPrefer("POST", path, h.tokenFor("UMALLORY"), `{"step":"approve","decision":"approve"}`, "respond-async, wait=5")
	if code != http.StatusAccepted || hdr.Get("Preference-Applied") != "respond-async" || hdr.Get("Location") != "/v1/runs/"+wid {
		t.Fatalf("async vote: %d %v %s", code, hdr, b)
	}
	var ack map[string]any
	if err := json.Unmarshal(b, &ack); err != nil || ack["async"] != true || ack["workflow_id"] != wid || ack["step"] != "approve" {
		t.Fatalf("async answer: %s (%v)", b, err)
	}
	gate := waitGate(t, h, wid, func(g *workflows.Gate) bool { return len(g.Refused) > 0 })
	if gate.State != workflows.GatePending || len(gate.Votes) != 0 {
		t.Fatalf("a refused async vote changed the gate: %+v", gate)
	}
	if r := gate.Refused[0]; r.User != "UMALLORY" || !r.Verified || !strings.HasPrefix(r.Credential, "token:") || !r.Approve || r.Via != workflows.ViaAPI || !strings.Contains(r.Refusal, "is not an approver") || r.At.IsZero() {
		t.Errorf("refusal kept on the gate: %+v", r)
	}

	if code, out, stderr := runCLI(t, "runs", "show", wid, "--api", h.baseURL, "--token", h.token); code != 0 ||
		!strings.Contains(out, "refused: approve by UMALLORY via api (token:") || !strings.Contains(out, "is not an approver") {
		t.Errorf("runs show: %d\n%s%s", code, out, stderr)
	}

	// An approver, from the CLI: the gate opens and the run finishes.
	if code, out, stderr := runCLI(t, "approve", wid, "approve", "--no-wait", "--reason", "checked", "--api", h.baseURL, "--token", h.tokenFor("URECORDER")); code != 0 ||
		!strings.Contains(out, "approve on approve: sent; the run checks it") {
		t.Fatalf("riposte approve --no-wait: %d\n%s%s", code, out, stderr)
	}
	d := h.waitRun(wid, time.Minute)
	if d.Status != workflows.RunSucceeded {
		t.Fatalf("run: %+v", d)
	}
	for _, s := range d.Steps {
		if s.ID == "approve" {
			if s.Status != "succeeded" || s.Gate == nil || s.Gate.State != workflows.GateApproved || s.Gate.Decision == nil ||
				s.Gate.Decision.User != "URECORDER" || s.Gate.Decision.Via != workflows.ViaAPI || s.Gate.Decision.Reason != "checked" {
				t.Errorf("approve step: %s %+v", s.Status, s.Gate)
			}
		}
	}

	// Refused at once, with the same answers as a synchronous decision.
	for _, c := range []struct {
		name, path string
		code       int
		detail     string
	}{
		{"ended run", path, http.StatusConflict, "has ended"},
		{"unknown run", "/v1/runs/no-such-run/approvals", http.StatusNotFound, "no run with workflow id"},
	} {
		code, _, b := h.doPrefer("POST", c.path, h.tokenFor("URECORDER"), `{"step":"approve","decision":"approve"}`, "respond-async")
		if code != c.code || !strings.Contains(string(b), c.detail) {
			t.Errorf("%s: %d %s", c.name, code, b)
		}
	}
}

// waitGate polls the run until its approve gate satisfies ok.
func waitGate(t *testing.T, h *devHarness, wid string, ok func(*workflows.Gate) bool) *workflows.Gate {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, b := h.do("GET", "/v1/runs/"+url.PathEscape(wid), h.token, "")
		var d workflowsDetail
		if code == 200 && json.Unmarshal(b, &d) == nil {
			for _, s := range d.Steps {
				if s.ID == "approve" && s.Gate != nil && ok(s.Gate) {
					return s.Gate
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gate of %s: condition not met in 30s (last: %d %s)", wid, code, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
