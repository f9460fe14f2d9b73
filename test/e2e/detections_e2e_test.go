package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities/aws"
	"github.com/riposte-dev/riposte/internal/cli"
	labpkg "github.com/riposte-dev/riposte/internal/lab"

	enums "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/intake/convert"
	"github.com/riposte-dev/riposte/workflows"
)

// TestRealCorpusOnEmbeddedServer posts every real finding of
// internal/intake/testdata/real (OCSF 1.0-1.1 and 1.3-1.8, 2001, the four vendor
// formats, auto-detected) to riposte dev with the shipped playbooks, and
// checks the routing and that containment ran against the lab on the
// entity the finding names: Okta suspends the user of the CrowdStrike
// identity alert, AWS revokes the GuardDuty role's sessions, the host of
// the Elastic Defend alert is contained by no other EDR (the ticket says to
// contain it from Elastic's console), and the host of a Falcon detection is
// network-contained through CrowdStrike after one approval. Every contain
// step that ran acted on an entity of its run's finding view.
func TestRealCorpusOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir(), func(o *cli.DevOptions) {
		o.Playbooks, _ = filepath.Abs("../../playbooks")
		o.MaxBody = 1 << 20
	})
	defer h.sys.Close()
	lab := h.sys.Lab
	// The site's directory knows the account the CrowdStrike identity alert names.
	lab.AddUser("admin.abcdef@example.com", "Admin", "Abcdef")
	// ... and the AWS account the role the GuardDuty finding names.
	labpkg.Fake[*aws.Fake](lab).AddRole("Admin")
	// ... the Linux host the Elastic Defend alert was raised on (every EDR
	// fake knows it: no EDR but Elastic's may be asked to contain it) and
	// the Falcon host of the CrowdStrike detection.
	lab.AddHosts("siem-linux-release-sec-bis", "DESKTOP1111")

	// riposte submit --explain starts nothing and says why each playbook
	// did or did not match; --format names a vendor format.
	submit := func(args ...string) (int, string) {
		code, out, errs := runCLI(t, append([]string{"submit", "--api", h.baseURL, "--token", h.token}, args...)...)
		return code, out + errs
	}
	code, out := submit("--explain", "../../internal/intake/testdata/real/crowdstrike-alert-idp.json")
	for _, want := range []string{
		"confidence 80; 2 hosts, 1 users, 1 ips",
		"user            admin.abcdef@example.com  from actor.user.email_addr",
		"ip              81.2.69.144 (external)  from src_endpoint.ip",
		"note: converted from a crowdstrike alert",
		"time 2024-08-19T18:44:01.1Z",
		"compromised-account matches: all 5 conditions hold",
		// Triage takes what no other playbook takes: compromised-account does.
		"triage-low-confidence does not match: `!((finding.confidence == nil || finding.confidence >= 60) && (",
		"contain-credential-theft does not match: `any(finding.attack, hasPrefix(#, \"T1003\"))` is false",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("submit --explain: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	if code, out := submit("--explain", "--format", "graph", "../../internal/intake/testdata/real/suricata-eve-alert.json"); code == 0 || !strings.Contains(out, "id: is required for a Graph security alert") {
		t.Errorf("a Suricata record as --format graph: exit %d\n%s", code, out)
	}
	if code, out := submit("--format", "splunk", "x.json"); code != 2 || !strings.Contains(out, "use one of ocsf, crowdstrike, elastic, graph, suricata") {
		t.Errorf("--format splunk: exit %d\n%s", code, out)
	}
	if len(lab.State().Tickets) != 0 {
		t.Fatalf("--explain started runs")
	}

	files, _ := filepath.Glob("../../internal/intake/testdata/real/*.json")
	if len(files) < 13 {
		t.Fatalf("corpus: %d files", len(files))
	}
	runs := map[string][]string{} // file -> workflow ids
	routed := map[string][]string{}
	for _, f := range files {
		name := filepath.Base(f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code, body := h.do("POST", "/v1/detections", h.token, string(b))
		if name == "qradar-offense-2001.ocsf.json" {
			if code != 400 || !strings.Contains(string(body), `"path":"severity_id"`) {
				t.Errorf("%s: %d %s, want 400 naming severity_id", name, code, body)
			}
			continue
		}
		if code != 200 && code != 202 {
			t.Fatalf("%s: %d %s", name, code, body)
		}
		var r api.DetectionsResponse
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		for _, d := range r.Detections {
			if d.Entities == nil || d.State == "" {
				t.Errorf("%s#%d: the answer lacks entities/state: %+v", name, d.Index, d)
			}
			if len(d.Matched) == 0 && d.State != "active" && d.Reason == "" {
				t.Errorf("%s#%d: nothing started and no reason given", name, d.Index)
			}
			for _, m := range d.Matched {
				routed[name] = append(routed[name], m.Playbook)
				runs[name] = append(runs[name], m.WorkflowID)
			}
		}
	}
	for name, want := range map[string][]string{
		"crowdstrike-alert-idp.json":              {"compromised-account"},
		"crowdstrike-alert-epp.json":              {"triage-low-confidence"},
		"guardduty-cloudtrail-disabled.ocsf.json": {"cloud-identity"},
		"graph-alert-v2.json":                     {"triage-low-confidence"},
		"elastic-security-alert.json":             {"endpoint-threat"},
		"elastic-rule-alert-attack-8.19.json":     {"triage-low-confidence"},
		"suricata-eve-alert.json":                 {"triage-low-confidence"},
		"okta-threat-detected.ocsf.json":          {"triage-low-confidence"},
		"falco-kernel-module-2001.ocsf.json":      {"triage-low-confidence"},
		"prowler-acm-pass.ocsf.json":              nil,
		// OCSF 1.5 (Suppressed: withdrawn, starts nothing) and 1.6.
		"guardduty-cloudtrail-suppressed-1.5.ocsf.json": nil,
		"guardduty-runtime-newbinary-1.6.ocsf.json":     {"triage-low-confidence"},
		"securityhub-ec2-19-2001.ocsf.json":             nil,
		// Read back from Amazon Security Lake: absent attributes are null.
		"securitylake-guardduty-dga-1.1.ocsf.json": {"triage-low-confidence"},
		// OCSF 1.8 (NDJSON bodies): four GuardDuty findings (the two credential
		// findings name a GuardDuty AccessKey resource), one Okta detection.
		"cloudaisec-guardduty-1.8.ocsf.json":        {"cloud-identity", "cloud-identity", "triage-low-confidence", "triage-low-confidence"},
		"cloudaisec-okta-mfa-fatigue-1.8.ocsf.json": {"compromised-account"},
		// OCSF 1.7 (Tenzir library mappings, transcribed from Tenzir's
		// notation): Okta, Check Point, Windows Defender (no hash: triage).
		"tenzir-okta-threat-detected-1.7.ocsf.json": {"triage-low-confidence"},
		"tenzir-checkpoint-spoofing-1.7.ocsf.json":  {"triage-low-confidence"},
		"tenzir-defender-1116-1.7.ocsf.json":        {"triage-low-confidence"},
		// Sophos and Microsoft Graph (Entra ID Protection, Defender) through
		// Tenzir (OCSF 1.8): triage; the Suppressed risk detection withdraws.
		"tenzir-sophos-detection-1.8.ocsf.json":      {"triage-low-confidence"},
		"tenzir-sophos-siem-alert-1.8.ocsf.json":     {"triage-low-confidence"},
		"tenzir-entra-risk-detections-1.8.ocsf.json": {"triage-low-confidence"},
		"tenzir-graph-defender-alert-1.8.ocsf.json":  {"triage-low-confidence"},
		// Suricata through Tenzir (OCSF 1.8): every alert triages, the two Low
		// ones and the Medium ET alerts (confidence High) no response
		// playbook takes: no active finding starts nothing.
		"tenzir-suricata-alert-1.8.ocsf.json": {"triage-low-confidence", "triage-low-confidence", "triage-low-confidence", "triage-low-confidence", "triage-low-confidence"},
	} {
		got := slices.Clone(routed[name])
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s routed to %v, want %v", name, got, want)
		}
	}

	// The identity alert: one approver, then Okta suspends the user the
	// alert names (from actor.user.email_addr, i.e. source_account_upn).
	acct := runs["crowdstrike-alert-idp.json"][0]
	h.approve(acct, "suspend", "U0IAMLEAD1")
	d := h.waitStep(acct, "ticket", "succeeded")
	for _, st := range d.Steps {
		if st.ID == "suspend" {
			if p, _ := st.Params.(map[string]any); p["user"] != "admin.abcdef@example.com" || st.Status != "succeeded" {
				t.Errorf("suspend: %s %v", st.Status, st.Params)
			}
		}
	}
	st := lab.State()
	if len(st.SuspendedUsers) != 1 || st.SuspendedUsers[0].User != "admin.abcdef@example.com" {
		t.Errorf("suspended users = %+v", st.SuspendedUsers)
	}
	if len(st.ContainedHosts) != 0 || len(st.BlockedIPs) != 0 {
		t.Errorf("nothing else may be contained: hosts %+v, IPs %+v", st.ContainedHosts, st.BlockedIPs)
	}

	// GuardDuty: the assumed role's temporary key disabled CloudTrail; after
	// one approval the role's active sessions are revoked on the AWS fake.
	var cloud string
	for _, id := range runs["guardduty-cloudtrail-disabled.ocsf.json"] {
		if strings.HasPrefix(id, "cloud-identity:") {
			cloud = id
		}
	}
	h.approve(cloud, "revoke_sessions", "U0IAMLEAD1")
	d = h.waitStep(cloud, "ticket", "succeeded")
	for _, s := range d.Steps {
		if s.ID == "revoke_sessions" {
			if p, _ := s.Params.(map[string]any); s.Status != "succeeded" || p["role_name"] != "Admin" {
				t.Errorf("revoke_sessions: %s %v (%s)", s.Status, s.Params, s.Error)
			}
		}
	}
	if pol := labpkg.Fake[*aws.Fake](lab).RolePolicies("Admin"); len(pol) != 1 {
		t.Errorf("role Admin policies = %v, want the session revocation", pol)
	}

	// The Elastic Defend alert (Empire stager, High, confidence unknown):
	// no containment action in the catalog is Elastic's, and no other EDR
	// is asked to contain a host it may not manage (or know another
	// machine by that name): the run asks no approval, contains nothing,
	// and its ticket says to contain the host from Elastic's console.
	var endpoint string
	for _, id := range runs["elastic-security-alert.json"] {
		if strings.HasPrefix(id, "endpoint-threat:") {
			endpoint = id
		}
	}
	d = h.waitRun(endpoint, time.Minute)
	for _, s := range d.Steps {
		if strings.HasPrefix(s.ID, "isolate") && (s.Status != "skipped" || s.Gate != nil) {
			t.Errorf("Elastic alert: step %s %s (gate %+v), want skipped without a gate", s.ID, s.Status, s.Gate)
		}
	}
	if d.Outputs["contained"] != false {
		t.Errorf("Elastic alert: outputs %v", d.Outputs)
	}
	if n := len(lab.State().ContainedHosts); n != 0 || len(lab.CallsFor("crowdstrike", "contain", "siem-linux-release-sec-bis")) != 0 {
		t.Errorf("the Elastic alert's host was contained through another EDR: %+v", lab.State().ContainedHosts)
	}
	byHand := false
	for _, tk := range lab.State().Tickets {
		if strings.HasPrefix(tk.Summary, "Endpoint threat on siem-linux-release-sec-bis") &&
			strings.Contains(tk.Description, "no containment action for Elastic Elastic Security; contain the host from its own console") {
			byHand = true
		}
	}
	if !byHand {
		t.Errorf("no endpoint ticket saying to contain the Elastic host by hand: %+v", lab.State().Tickets)
	}

	// The Falcon event-stream detection (confidence unknown) raised to
	// High: the host it names is contained through CrowdStrike, the EDR
	// that raised it, after one approval, never before it.
	src, err := os.ReadFile("../../internal/intake/testdata/real/crowdstrike-stream-epp-detection-summary.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(src, &raw); err != nil {
		t.Fatal(err)
	}
	falcon, _, err := convert.One(0, raw, "")
	if err != nil {
		t.Fatal(err)
	}
	falcon["severity_id"] = 4
	falcon["finding_info"].(map[string]any)["uid"] = "falcon-high-1"
	body, _ := json.Marshal(falcon)
	code, b := h.do("POST", "/v1/detections", h.token, string(body))
	var fr api.DetectionsResponse
	if (code != 200 && code != 202) || json.Unmarshal(b, &fr) != nil || len(fr.Detections) != 1 || len(fr.Detections[0].Matched) != 1 ||
		fr.Detections[0].Matched[0].Playbook != "endpoint-threat" {
		t.Fatalf("Falcon alert raised to High: %d %s", code, b)
	}
	endpoint = fr.Detections[0].Matched[0].WorkflowID
	h.waitStep(endpoint, "isolate", "waiting_approval")
	if n := len(lab.State().ContainedHosts); n != 0 {
		t.Fatalf("a host was contained before the approval: %+v", lab.State().ContainedHosts)
	}
	h.approve(endpoint, "isolate", "U0SOCLEAD1")
	d = h.waitStep(endpoint, "page", "succeeded")
	for _, s := range d.Steps {
		if s.ID == "isolate" {
			if p, _ := s.Params.(map[string]any); s.Status != "succeeded" || p["hostname"] != "DESKTOP1111" {
				t.Errorf("isolate: %s %v (%s)", s.Status, s.Params, s.Error)
			}
		}
	}
	st = lab.State()
	if len(st.ContainedHosts) != 1 || st.ContainedHosts[0].Hostname != "DESKTOP1111" || st.ContainedHosts[0].Vendor != "crowdstrike" {
		t.Errorf("contained hosts = %+v, want DESKTOP1111 on CrowdStrike", st.ContainedHosts)
	}
	if calls := lab.CallsFor("crowdstrike", "contain", "DESKTOP1111"); len(calls) != 1 {
		t.Errorf("CrowdStrike contain calls for the host: %+v", calls)
	}

	// Every contain step that ran, in every run of the corpus, acted on an
	// entity its finding names (host, user, IP or cloud principal).
	for name, ids := range runs {
		for _, id := range ids {
			checkContainTargets(t, h, name, id)
		}
	}

	// Confidence unknown is said as such in the triage tickets, never "0%";
	// a finding a response playbook takes (the Elastic alert:
	// endpoint-threat's ticket) gets no second, triage ticket.
	for _, f := range []string{"elastic-security-alert.json", "graph-alert-v2.json"} {
		for _, id := range runs[f] {
			h.waitRun(id, time.Minute)
		}
	}
	found := false
	for _, tk := range lab.State().Tickets {
		if strings.Contains(tk.Summary, "(0% confident)") {
			t.Errorf("ticket says 0%%: %q", tk.Summary)
		}
		if strings.HasPrefix(tk.Summary, "Triage (confidence unknown): Suspicious execution of hidden file") {
			found = true
		}
		if strings.HasPrefix(tk.Summary, "Triage") && strings.Contains(tk.Summary, "Empire Stager Execution") {
			t.Errorf("a triage ticket for the Elastic alert endpoint-threat took: %q", tk.Summary)
		}
	}
	if !found {
		t.Errorf("no 'confidence unknown' triage ticket for the Graph alert: %+v", lab.State().Tickets)
	}
}

// TestWithdrawalOnEmbeddedServer: a run waits at a gate; the detector then
// closes the finding (status Resolved). The gate ends "withdrawn", the
// Slack message is updated, nothing after the gate runs, and the run says
// why.
func TestWithdrawalOnEmbeddedServer(t *testing.T) {
	h, fake, wid := waitingAtGate(t, "withdraw-1")

	// The same finding, closed by its detector.
	code, r := h.submit(detectionJSON("withdraw-1", 5, `,"unmapped":{"gate":true},"status_id":4,"status":"Resolved","activity_id":3`))
	if code != 200 {
		t.Fatalf("withdrawal: %d %+v", code, r)
	}
	out := r.Detections[0]
	if out.State != "withdrawn" || len(out.Matched) != 0 || !slices.Contains(out.Signalled, wid) || !strings.Contains(out.Reason, "withdrawn") {
		t.Fatalf("withdrawal answer: %+v", out)
	}
	d := h.waitRun(wid, time.Minute)
	if d.Status != workflows.RunSucceeded {
		t.Errorf("run: %+v", d)
	}
	for _, s := range d.Steps {
		switch s.ID {
		case "approve":
			if s.Status != "skipped" || s.Gate == nil || s.Gate.State != workflows.GateWithdrawn || !strings.Contains(s.Reason, "withdrawn") {
				t.Errorf("gate step: %s %q %+v", s.Status, s.Reason, s.Gate)
			}
		case "fanout":
			if s.Status != "skipped" {
				t.Errorf("fanout ran after the withdrawal: %s", s.Status)
			}
		}
	}
	wantNote(t, h, wid, `^finding withdrawn by the detector \(status\\_id is 4 \\\(Resolved\\\)\): 1 gate\(s\) closed, \d+ contain step\(s\) to review, 0 undone$`)
	if d.Withdrawn == nil || !slices.Contains(d.Withdrawn.Gates, "approve") || !strings.Contains(d.Withdrawn.Reason, "status_id is 4") {
		t.Errorf("withdrawn: %+v", d.Withdrawn)
	}
	// The approval request in Slack now says so.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	upd, err := fake.WaitCalls(ctx, "chat.update", 1)
	if err != nil {
		t.Fatalf("the Slack message was not updated: %v", err)
	}
	last, _ := json.Marshal(upd[len(upd)-1].Blocks)
	if !strings.Contains(string(last), "Withdrawn") {
		t.Errorf("updated message: %s", last)
	}
	// A later vote is refused: the gate is closed.
	if code, b := h.do("POST", "/v1/runs/"+wid+"/approvals", h.tokenFor("URECORDER"), `{"step":"approve","decision":"approve","user":"URECORDER"}`); code == 200 {
		t.Errorf("vote after withdrawal accepted: %d %s", code, b)
	}
}

// TestFindingUpdateOnEmbeddedServer: a later record of a running finding
// with a higher severity and confidence updates the run's view, visible in
// the run's detail; a lower one changes nothing.
func TestFindingUpdateOnEmbeddedServer(t *testing.T) {
	h, _, wid := waitingAtGate(t, "update-1")

	lower := strings.Replace(detectionJSON("update-1", 2, `,"unmapped":{"gate":true},"activity_id":2`), `"confidence_score":90`, `"confidence_score":40`, 1)
	if code, r := h.submit(lower); code != 200 || !slices.Contains(r.Detections[0].Signalled, wid) {
		t.Fatalf("lower update: %d %+v", code, r)
	}
	higher := strings.Replace(detectionJSON("update-1", 6, `,"unmapped":{"gate":true},"activity_id":2`), `"confidence_score":90`, `"confidence_score":99`, 1)
	if code, r := h.submit(higher); code != 200 || !r.Detections[0].Matched[0].Deduplicated {
		t.Fatalf("higher update: %d %+v", code, r)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, b := h.do("GET", "/v1/runs/"+wid, h.token, "")
		var d api.RunDetail
		if code == 200 && json.Unmarshal(b, &d) == nil && len(d.FindingChanges) > 0 {
			if len(d.FindingChanges) != 1 || d.FindingChanges[0].Severity != "Fatal" || d.Finding["confidence"] != float64(99) {
				t.Errorf("changes %+v, finding confidence %v", d.FindingChanges, d.Finding["confidence"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run's view was never updated: %s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// riposte runs show prints the updated view and the update.
	code, out, stderr := runCLI(t, "runs", "show", wid, "--api", h.baseURL, "--token", h.token)
	for _, want := range []string{"finding:   severity Fatal, confidence 99, state active", "finding:   updated at ", ": severity Fatal, confidence 99, active"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("runs show: exit %d, lacks %q:\n%s%s", code, want, out, stderr)
		}
	}
	// The Temporal UI's current details of the waiting run show it too.
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
	if text := md.GetCurrentDetails(); !strings.Contains(text, "Finding: severity `Fatal`, confidence 99%") || !strings.Contains(text, "- updated by the detector 1 time(s), last at ") {
		t.Errorf("current details lack the update:\n%s", text)
	}
	h.approve(wid, "approve", "URECORDER")
	if d := h.waitRun(wid, time.Minute); d.Status != workflows.RunSucceeded {
		t.Errorf("run after the update: %+v", d)
	}

	// The history reads like a case in the UI's timeline: every activity
	// and timer has a summary, and each Update and signal that changed the
	// run is followed by a marker saying what it did.
	var notes []string
	updates := 0
	for _, e := range fetchHistory(t, c, wid, "").GetEvents() {
		var summary string
		if p := e.GetUserMetadata().GetSummary(); p != nil {
			if err := codec.NewDataConverter(h.sys.Keys).FromPayload(p, &summary); err != nil {
				t.Errorf("event %d: summary: %v", e.GetEventId(), err)
			}
		}
		switch {
		case e.GetActivityTaskScheduledEventAttributes() != nil, e.GetTimerStartedEventAttributes() != nil:
			if summary == "" || summary == "AwaitWithTimeout" || summary == "Sleep" {
				t.Errorf("event %d (%s) has no meaningful summary: %q", e.GetEventId(), e.GetEventType(), summary)
			}
		case e.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
			updates++
		case e.GetMarkerRecordedEventAttributes() != nil && summary != "":
			notes = append(notes, summary)
		}
	}
	for _, want := range []string{
		"finding update from the detector (severity Low, confidence 40): not higher, view unchanged",
		"finding update from the detector: severity Fatal, confidence 99; the run's view is raised",
		"decision on approve by URECORDER via api: approve (1 of 1 approvals, gate approved)",
	} {
		if !slices.Contains(notes, want) {
			t.Errorf("history summaries %q lack %q", notes, want)
		}
	}
	decisions := 0
	for _, n := range notes {
		if strings.HasPrefix(n, "decision on ") {
			decisions++
		}
	}
	if updates == 0 || decisions != updates {
		t.Errorf("%d decide Updates, %d decision summaries: %q", updates, decisions, notes)
	}
}

// TestRecordWithdrawalHistory records (with -record) the history of a gated
// run withdrawn by its detector, for the replay guard
// (workflows/testdata/histories/detect-withdrawn-e2e-gated.json): the
// finding lifecycle's GetVersion marker and the withdrawn gate.
func TestRecordWithdrawalHistory(t *testing.T) {
	if !*record {
		t.Skip("only with -record")
	}
	h, c, m := recordGatedUpdated(t, "rec-w")
	if code, _ := h.submit(detectionJSON("rec-w", 5, `,"unmapped":{"gate":true},"status_id":4`)); code != 200 {
		t.Fatalf("withdrawal: %d", code)
	}
	h.waitRun(m.WorkflowID, time.Minute)
	saveHistory(t, c, m.WorkflowID, m.RunID, "detect-withdrawn-e2e-gated")
}

// checkContainTargets fails when a contain step of run id (started by a
// record of corpus file name) succeeded on a host, user or IP that the
// finding view of the file's records does not list.
func checkContainTargets(t *testing.T, h *devHarness, name, id string) {
	t.Helper()
	code, b := h.do("GET", "/v1/runs/"+id, h.token, "")
	var d api.RunDetail
	if code != 200 || json.Unmarshal(b, &d) != nil {
		t.Errorf("%s: run %s: %d %s", name, id, code, b)
		return
	}
	known := corpusEntities(t, name)
	for _, s := range d.Steps {
		if s.Status != "succeeded" || !isContain(s.Action) {
			continue
		}
		p, _ := s.Params.(map[string]any)
		for _, k := range []string{"hostname", "user", "ip"} {
			if v, _ := p[k].(string); v != "" && !known[strings.ToLower(v)] {
				t.Errorf("%s: %s step %s (%s) acted on %s %q, which its finding does not name (%v)", name, id, s.ID, s.Action, k, v, known)
			}
		}
	}
}

// corpusEntities lists the hosts, users (value, email, name), IPs and cloud
// resources the finding view of the corpus file's records names.
func corpusEntities(t *testing.T, name string) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("../../internal/intake/testdata/real", name))
	if err != nil {
		t.Fatal(err)
	}
	dets, err := intake.Decode(bytes.NewReader(src), intake.DecodeOptions{MaxBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	add := func(l any) {
		items, _ := l.([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			for _, k := range []string{"value", "email", "name"} {
				if v, _ := m[k].(string); v != "" {
					known[strings.ToLower(v)] = true
				}
			}
		}
	}
	for i, det := range dets {
		m, _, err := convert.One(i, map[string]any(det), "")
		if err != nil {
			t.Fatal(err)
		}
		v := finding.Build(intake.Detection(m), finding.DefaultConfig())
		add(v["hosts"])
		add(v["users"])
		add(v["cloud_resources"])
		if ips, ok := v["ips"].(map[string]any); ok {
			add(ips["all"])
		}
	}
	return known
}

// isContain reports whether the action changes the environment.
func isContain(action string) bool {
	if a, ok := activities.Catalog().Lookup(action); ok {
		return a.Risk == catalog.RiskContain
	}
	return false
}

// TestRecordSummariesHistory records (with -record) a gated run that got a
// finding update (signal) and a decision (Update) after the history
// summaries existed, for the replay guard
// (workflows/testdata/histories/summaries-e2e-gated.json): the
// ui-history-summaries GetVersion marker and its summary markers.
func TestRecordSummariesHistory(t *testing.T) {
	if !*record {
		t.Skip("only with -record")
	}
	h, c, m := recordGatedUpdated(t, "rec-s")
	h.approve(m.WorkflowID, "approve", "URECORDER")
	h.waitRun(m.WorkflowID, time.Minute)
	saveHistory(t, c, m.WorkflowID, m.RunID, "summaries-e2e-gated")
}

// TestCloseBeforeCreateOnEmbeddedServer: the Close of a finding arrives
// before its Create (producers and queues do not keep order). The Close
// records a run of the matching playbook that runs no step; the late
// Create is deduplicated to it, so nothing acts for a closed finding.
func TestCloseBeforeCreateOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	wid := closeFirst(t, h, "close-first-1")
	code, r := h.submit(detectionJSON("close-first-1", 5, `,"unmapped":{"gate":true}`))
	if code != 200 {
		t.Fatalf("late Create: %d %+v", code, r)
	}
	var dedup bool
	for _, m := range r.Detections[0].Matched {
		if m.Playbook == "e2e-gated" {
			dedup = m.Deduplicated && m.WorkflowID == wid
		} else if !m.Deduplicated {
			t.Errorf("late Create started %s: %+v", m.Playbook, m)
		}
	}
	if !dedup {
		t.Errorf("late Create: %+v; want e2e-gated deduplicated to the withdrawn run %s", r.Detections[0].Matched, wid)
	}
}

// A finding its producer reopens after withdrawing it (a record later than
// the Close that says it is active again: CrowdStrike's "reopened", an
// Elastic alert opened again) gets a new run under the same workflow id;
// the Create delivered after its Close (not later) and copies of the
// reopening record do not.
func TestReopenedFindingOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	wid := closeFirst(t, h, "reopen-1")
	gated := func(what string, r api.DetectionsResponse) dispatch.Match {
		t.Helper()
		for _, m := range r.Detections[0].Matched {
			if m.Playbook == "e2e-gated" {
				return m
			}
		}
		t.Fatalf("%s: e2e-gated not matched: %+v", what, r.Detections[0])
		return dispatch.Match{}
	}
	code, r := h.submit(detectionJSON("reopen-1", 5, `,"unmapped":{"gate":true}`))
	if code != 200 {
		t.Fatalf("late Create: %d %+v", code, r)
	}
	first := gated("late Create", r)
	if !first.Deduplicated || first.Reopened || first.WorkflowID != wid {
		t.Fatalf("late Create: %+v; want deduplicated to the withdrawn run %s", first, wid)
	}
	// The producer reopens the finding a minute after the Close.
	reopen := strings.Replace(detectionJSON("reopen-1", 5, `,"unmapped":{"gate":true},"activity_id":2,"status_id":1,"status":"New"`),
		`"finding_info":{`, `"finding_info":{"modified_time":1763458997000,`, 1)
	code, r = h.submit(reopen)
	if code != 202 {
		t.Fatalf("reopen: %d %+v; want 202 (a run started)", code, r)
	}
	re := gated("reopen", r)
	if !re.Reopened || re.Deduplicated || re.WorkflowID != wid || re.RunID == "" || re.RunID == first.RunID {
		t.Fatalf("reopen: %+v; want a new run of %s (the withdrawn one is %s)", re, wid, first.RunID)
	}
	if r.Started == 0 || r.Detections[0].Deduplicated {
		t.Errorf("reopen answer: started %d, deduplicated %v", r.Started, r.Detections[0].Deduplicated)
	}
	// The new run is the workflow id's run now: it waits at its gate.
	deadline := time.Now().Add(time.Minute)
	for {
		code, b := h.do("GET", "/v1/runs/"+url.PathEscape(wid), h.token, "")
		var d api.RunDetail
		_ = json.Unmarshal(b, &d)
		if code == 200 && d.RunID == re.RunID && d.Status == workflows.RunWaiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reopened run: %d %s", code, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The same reopening record again goes to that run.
	code, r = h.submit(reopen)
	if again := gated("reopen again", r); code != 200 || !again.Deduplicated || again.Reopened || again.RunID != re.RunID {
		t.Errorf("reopen again: %d %+v; want deduplicated to %s", code, again, re.RunID)
	}
	if !slices.Contains(r.Detections[0].Signalled, wid) {
		t.Errorf("reopen again: signalled %v, want %s", r.Detections[0].Signalled, wid)
	}
	// Closed again while its gate waits (the run records the Close it was
	// sent), then reopened again: a third run; the first reopening record,
	// older than that Close, starts nothing.
	at := func(body string, ms int64) string {
		return strings.Replace(body, `"modified_time":1763458997000`, fmt.Sprintf(`"modified_time":%d`, ms), 1)
	}
	closeAgain := strings.Replace(at(reopen, 1763459057000), `"activity_id":2,"status_id":1,"status":"New"`, `"activity_id":3,"status_id":4,"status":"Resolved"`, 1)
	if code, r = h.submit(closeAgain); code >= 300 || !slices.Contains(r.Detections[0].Signalled, wid) {
		t.Fatalf("Close of the reopened finding: %d %+v", code, r)
	}
	if d := h.waitRun(wid, time.Minute); d.RunID != re.RunID || d.Outcome != workflows.OutcomeWithdrawn {
		t.Fatalf("reopened run after the Close: run %s, outcome %s; want %s withdrawn", d.RunID, d.Outcome, re.RunID)
	}
	code, r = h.submit(reopen)
	if stale := gated("the first reopening record after the second Close", r); code != 200 || !stale.Deduplicated || stale.Reopened {
		t.Errorf("the first reopening record after the second Close: %d %+v; want deduplicated", code, stale)
	}
	code, r = h.submit(at(reopen, 1763459117000))
	if third := gated("second reopen", r); code != 202 || !third.Reopened || third.RunID == re.RunID || third.RunID == first.RunID {
		t.Errorf("second reopen: %d %+v; want a third run", code, third)
	}
}

// A finding whose run ended approved and done (not withdrawn), then closed
// by its producer and reopened, gets its response again: the Close is
// recorded under closed:<workflow id> (the ended run cannot take it), and
// the reopening record, later than that Close, starts a new run under the
// finding's workflow id. Before, the Close reached nothing and the reopen
// was deduplicated to the old run for the whole retention.
func TestReopenAfterAnEndedRunOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	const uid = "reopen-ended-1"
	code, r := h.submit(detectionJSON(uid, 5, `,"unmapped":{"gate":true}`))
	if code != 202 {
		t.Fatalf("Create: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-gated")
	h.approve(wid, "approve", "URECORDER")
	first := h.waitRun(wid, time.Minute)
	if first.Status != workflows.RunSucceeded || first.Withdrawn != nil {
		t.Fatalf("first run: %s, withdrawn %+v", first.Status, first.Withdrawn)
	}
	// An update after the run ended, with no Close before it: nothing.
	update := func(ms int64, state string) string {
		return strings.Replace(detectionJSON(uid, 5, `,"unmapped":{"gate":true},`+state),
			`"finding_info":{`, fmt.Sprintf(`"finding_info":{"modified_time":%d,`, ms), 1)
	}
	if code, r = h.submit(update(1763458967000, `"activity_id":2,"status_id":2,"status":"In Progress"`)); code != 200 || r.Started != 0 {
		t.Fatalf("update of the ended run: %d %+v; want deduplicated", code, r)
	}
	// The producer closes it: recorded beside the ended run.
	code, r = h.submit(update(1763458997000, `"activity_id":3,"status_id":4,"status":"Resolved"`))
	out := r.Detections[0]
	var rec string
	for _, m := range out.Recorded {
		if m.Playbook == "e2e-gated" {
			rec = m.WorkflowID
		}
	}
	if code >= 300 || rec != dispatch.ClosedPrefix+wid || !strings.Contains(out.Reason, "after its run ended") {
		t.Fatalf("Close of the ended run: %d %+v; want it recorded as %s", code, out, dispatch.ClosedPrefix+wid)
	}
	if d := h.waitRun(rec, time.Minute); d.Outcome != workflows.OutcomeWithdrawn || d.Withdrawn == nil || !d.Withdrawn.BeforeStart {
		t.Errorf("recorded close: outcome %s, withdrawn %+v", d.Outcome, d.Withdrawn)
	}
	// A copy of the Close records nothing more.
	if code, r = h.submit(update(1763458997000, `"activity_id":3,"status_id":4,"status":"Resolved"`)); code >= 300 || len(r.Detections[0].Recorded) != 0 {
		t.Errorf("copy of the Close: %d %+v; want nothing recorded", code, r.Detections[0])
	}
	// The run view of the finding is still its run.
	if d := h.waitRun(wid, time.Minute); d.RunID != first.RunID {
		t.Errorf("GET /v1/runs/%s: run %s, want the ended run %s", wid, d.RunID, first.RunID)
	}
	// Reopened a minute after the Close: the response starts again.
	code, r = h.submit(update(1763459057000, `"activity_id":2,"status_id":1,"status":"New"`))
	var re dispatch.Match
	for _, m := range r.Detections[0].Matched {
		if m.Playbook == "e2e-gated" {
			re = m
		}
	}
	if code != 202 || !re.Reopened || re.Deduplicated || re.WorkflowID != wid || re.RunID == first.RunID {
		t.Fatalf("reopen: %d %+v; want a new run of %s", code, r.Detections[0], wid)
	}
	h.waitStep(wid, "approve", "waiting_approval")

	// The first run's approval, read back from its history, is sealed for
	// that run; sent to the new run (same workflow id, same gate, within
	// the seal's 10 minutes) it is refused and the gate stays open.
	c := dialDev(t, h, "copy-test")
	vote := acceptedVote(t, c, h, wid, first.RunID)
	if vote.RunID != first.RunID || vote.User != "URECORDER" {
		t.Fatalf("first run's vote %+v; want URECORDER's, sealed for run %s", vote, first.RunID)
	}
	if err := c.SignalWorkflow(context.Background(), wid, re.RunID, workflows.SignalDecide, vote); err != nil {
		t.Fatal(err)
	}
	h.eventually(t, func() string {
		d := h.runDetail(t, wid)
		for _, st := range d.Steps {
			if g := st.Gate; st.ID == "approve" && g != nil {
				if len(g.Refused) == 1 && strings.Contains(g.Refused[0].Refusal, "sealed for run "+first.RunID) && g.State == workflows.GatePending && len(g.Votes) == 0 {
					return ""
				}
				return fmt.Sprintf("gate %s, votes %+v, refused %+v", g.State, g.Votes, g.Refused)
			}
		}
		return "no gate on step approve"
	})
}

// acceptedVote returns the vote of the first decide Update that run rid
// of wid accepted, as its history stores it.
func acceptedVote(t *testing.T, c client.Client, h *devHarness, wid, rid string) workflows.Decision {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), wid, rid, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes()
		if a == nil || a.GetAcceptedRequest().GetInput().GetName() != workflows.UpdateDecide {
			continue
		}
		var d workflows.Decision
		dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), codec.NewCodec(h.sys.Keys))
		if err := dc.FromPayloads(a.GetAcceptedRequest().GetInput().GetArgs(), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	t.Fatalf("no accepted decide Update in run %s of %s", rid, wid)
	return workflows.Decision{}
}

// closeFirst submits the Close of finding uid, which no record started a
// run of, and waits for the e2e-gated run it records: no step ran, outcome
// withdrawn before the start. It returns the run's workflow id.
func closeFirst(t *testing.T, h *devHarness, uid string) string {
	t.Helper()
	code, r := h.submit(detectionJSON(uid, 5, `,"unmapped":{"gate":true},"status_id":4,"status":"Resolved","activity_id":3`))
	if code >= 300 {
		t.Fatalf("Close: %d %+v", code, r)
	}
	out := r.Detections[0]
	var wid string
	for _, m := range out.Recorded {
		if m.Playbook == "e2e-gated" {
			wid = m.WorkflowID
		}
	}
	if out.State != "withdrawn" || len(out.Matched) != 0 || wid == "" || !strings.Contains(out.Reason, "before any record of it started a run") {
		t.Fatalf("Close first: %+v; want an e2e-gated run recorded as withdrawn", out)
	}
	d := h.waitRun(wid, time.Minute)
	if d.Status != workflows.RunSucceeded || d.Outcome != workflows.OutcomeWithdrawn || d.Withdrawn == nil || !d.Withdrawn.BeforeStart {
		t.Errorf("recorded run: status %s, outcome %s, withdrawn %+v", d.Status, d.Outcome, d.Withdrawn)
	}
	for _, s := range d.Steps {
		if s.Status != "skipped" {
			t.Errorf("step %s of the withdrawn run: %s", s.ID, s.Status)
		}
	}
	return wid
}
