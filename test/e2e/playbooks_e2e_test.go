package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/cli"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/workflows"
)

func (h *devHarness) approve(wid, step, user string) {
	h.t.Helper()
	h.waitStep(wid, step, "waiting_approval")
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/approvals", h.tokenFor(user),
		fmt.Sprintf(`{"step":%q,"decision":"approve","user":%q,"reason":"e2e"}`, step, user))
	if code != 200 {
		h.t.Fatalf("approve %s/%s as %s: %d %s", wid, step, user, code, b)
	}
}

func matched(t *testing.T, r api.DetectionsResponse, playbook string) string {
	t.Helper()
	for _, d := range r.Detections {
		for _, m := range d.Matched {
			if m.Playbook == playbook {
				return m.WorkflowID
			}
		}
	}
	t.Fatalf("no run of %s in %+v", playbook, r)
	return ""
}

func submitFile(t *testing.T, h *devHarness, name string) api.DetectionsResponse {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../examples", name))
	if err != nil {
		t.Fatal(err)
	}
	code, r := h.submit(string(b))
	if code != 202 {
		t.Fatalf("submit %s: %d", name, code)
	}
	return r
}

// TestShippedPlaybooksAgainstLab runs every shipped playbook on its sample
// detection in riposte dev, against the vendor lab, and checks what the
// fake vendors saw.
func TestShippedPlaybooksAgainstLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir(), func(o *cli.DevOptions) {
		o.Playbooks, _ = filepath.Abs("../../playbooks")
		o.MaxBody = 1 << 20
	})
	defer h.sys.Close()
	lab := h.sys.Lab

	// Credential dumping on a workstation at 92%: contained automatically.
	cred := matched(t, submitFile(t, h, "credential-dumping.json"), "contain-credential-theft")
	d := h.waitRun(cred, time.Minute)
	if d.Status != workflows.RunSucceeded || d.Outputs["contained"] != true {
		t.Fatalf("credential theft: %+v", d)
	}
	// Ransomware on production: two approvers, then isolation stays (sample is bad).
	ransom := matched(t, submitFile(t, h, "ransomware.json"), "ransomware-behaviour")
	h.approve(ransom, "isolate", "U0SOCLEAD1")
	h.approve(ransom, "isolate", "U0INFRA001")
	d = h.waitRun(ransom, time.Minute)
	if d.Outputs["isolated"] != true {
		t.Fatalf("ransomware: %+v", d)
	}
	// Each vote names the credential that authenticated it: the voter's
	// personal token (its id), sealed with the vote.
	for _, st := range d.Steps {
		if st.ID != "isolate" {
			continue
		}
		if st.Gate == nil || len(st.Gate.Votes) != 2 {
			t.Fatalf("isolate gate: %+v", st.Gate)
		}
		for _, v := range st.Gate.Votes {
			if !strings.HasPrefix(v.Credential, "token:") || strings.Contains(v.Credential, h.tokenFor(v.User)) {
				t.Errorf("vote of %s: credential %q, want token:<its token's id>", v.User, v.Credential)
			}
		}
	}
	// Phishing: two recipients, both sessions revoked after the domain check.
	phish := submitFile(t, h, "phishing-click.ndjson")
	for _, det := range phish.Detections {
		for _, m := range det.Matched {
			if d := h.waitRun(m.WorkflowID, time.Minute); d.Outputs["revoked"] != true {
				t.Errorf("phishing %s: %+v", m.WorkflowID, d)
			}
		}
	}
	// Impossible travel: one approver suspends; the run then holds the 24h suspension.
	acct := matched(t, submitFile(t, h, "impossible-travel.json"), "compromised-account")
	h.approve(acct, "suspend", "U0IAMLEAD1")
	h.waitStep(acct, "ticket", "succeeded")
	// C2 beaconing: blocked for 24h automatically.
	c2 := matched(t, submitFile(t, h, "c2-beaconing.json"), "block-c2-beaconing")
	h.waitStep(c2, "ticket", "succeeded")
	// Low confidence: a triage ticket, nothing contained.
	low := matched(t, submitFile(t, h, "low-confidence.json"), "triage-low-confidence")
	if d := h.waitRun(low, time.Minute); d.Outputs["routed_to"] != "triage" {
		t.Errorf("triage: %+v", d)
	}

	st := lab.State()
	hosts := map[string]bool{}
	for _, c := range st.ContainedHosts {
		hosts[c.Hostname] = true
	}
	if !hosts["fin-ws-042"] || !hosts["web-prod-01"] || len(hosts) != 2 {
		t.Errorf("contained hosts = %+v", st.ContainedHosts)
	}
	if len(st.BlockedIPs) != 1 || st.BlockedIPs[0].IP != "203.0.113.77" {
		t.Errorf("blocked IPs = %+v", st.BlockedIPs)
	}
	if len(st.SuspendedUsers) != 1 || !strings.HasPrefix(st.SuspendedUsers[0].User, "j.moreau") {
		t.Errorf("suspended users = %+v", st.SuspendedUsers)
	}
	if len(st.Tickets) != 7 {
		t.Errorf("tickets = %d, want one per run (7)", len(st.Tickets))
	}
	if len(st.Pages) != 2 {
		t.Errorf("pages = %d, want 2 (credential theft, ransomware)", len(st.Pages))
	}

	checkNoSecretsInHistories(t, h, []string{cred, ransom, acct, c2, low})

	// Extend the C2 block, then roll back the credential-theft containment.
	if code, b := h.do("POST", "/v1/runs/"+url.PathEscape(c2)+"/extend", h.tokenFor("USOC"), `{"step":"block","by":"4h","user":"USOC"}`); code != 200 || !strings.Contains(string(b), "4h") {
		t.Errorf("extend: %d %s", code, b)
	}
	wantNote(t, h, c2, `^extend block by 4h by USOC: releases at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(cred)+"/rollback", h.tokenFor("USOC"), `{"user":"USOC"}`)
	if code != 202 {
		t.Fatalf("rollback: %d %s", code, b)
	}
	rb := h.waitRun("rollback:"+cred, time.Minute)
	if rb.Temporal != "completed" {
		t.Errorf("rollback run: %+v", rb)
	}
	for _, c := range lab.State().ContainedHosts {
		if c.Hostname == "fin-ws-042" {
			t.Errorf("fin-ws-042 still contained after rollback")
		}
	}
}

// TestContainForReleasesOnEmbeddedServer: a durable timer releases the block.
func TestContainForReleasesOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":2,"finding_info":{"uid":"tb-1"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.77"},"unmapped":{"timebox":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-timebox")
	h.waitStep(wid, "block", "succeeded")
	if n := len(h.sys.Lab.State().BlockedIPs); n != 1 {
		t.Fatalf("blocked IPs while held: %d", n)
	}
	d := h.waitRun(wid, time.Minute)
	if d.Status != workflows.RunSucceeded || len(h.sys.Lab.State().BlockedIPs) != 0 {
		t.Errorf("after contain_for: %s, blocked %+v", d.Status, h.sys.Lab.State().BlockedIPs)
	}
}

// checkNoSecretsInHistories decrypts every payload of the runs' histories
// and fails if any vendor credential of the lab appears in them.
func checkNoSecretsInHistories(t *testing.T, h *devHarness, workflowIDs []string) {
	t.Helper()
	var secrets []string
	for _, c := range h.sys.Lab.Connections() {
		for _, ref := range c.Secrets {
			if ref.Lab != "" {
				secrets = append(secrets, ref.Lab)
			}
		}
	}
	if len(secrets) == 0 {
		t.Fatal("the lab has no secrets to look for")
	}
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cdc := codec.NewCodec(h.sys.Keys)
	payloads := 0
	for _, wid := range workflowIDs {
		hist := fetchHistory(t, c, wid, "")
		err := proxy.VisitPayloads(context.Background(), hist, proxy.VisitPayloadsOptions{
			Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
				dec, err := cdc.Decode(ps)
				if err != nil {
					return nil, err
				}
				for _, p := range dec {
					payloads++
					for _, s := range secrets {
						if bytes.Contains(p.GetData(), []byte(s)) {
							t.Errorf("run %s: a vendor secret appears in its history", wid)
						}
					}
				}
				return ps, nil
			},
		})
		if err != nil {
			t.Fatalf("visiting %s: %v", wid, err)
		}
	}
	if payloads == 0 {
		t.Error("no payloads decoded; the scan proves nothing")
	}
}
