package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/workflows"
)

// TestFailedRollbackIsNotShownAsRolledBack: a rollback whose undo failed
// (the firewall refused the unblock) leaves the containment in place, and
// README says it can be asked again. The run it was for must not read
// "rolled back" in the views an analyst trusts (runs list, runs show,
// GET /v1/runs): that says the containment was lifted.
func TestFailedRollbackIsNotShownAsRolledBack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	if *record {
		dir = recordingDir(t) // the replay guard's key
	}
	h := startDevForTest(t, dir)
	defer h.sys.Close()
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"rb-refused-1"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.99"},"unmapped":{"hold_case":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-hold")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(150 * time.Millisecond) {
		if d := h.runDetail(t, wid); d.Status == workflows.RunHolding {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run never showed holding")
		}
	}
	// The firewall refuses every call from now on.
	h.sys.Lab.InjectFault(lab.PANOS, lab.Fault{Status: 403, Times: 1000})
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
	if code >= 300 {
		t.Fatalf("rollback: %d %s", code, b)
	}
	rb := h.waitRun("rollback:"+wid, 2*time.Minute)
	if rb.Status != workflows.RunFailed {
		t.Fatalf("the rollback run: status %s, want failed (its undo was refused): %+v", rb.Status, rb.Undo)
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 1 {
		t.Fatalf("blocked in the lab: %+v; want the address still blocked", blocked)
	}
	time.Sleep(time.Second)
	d := h.runDetail(t, wid)
	for _, hold := range d.Holds {
		if hold.ReleasedAt != nil && hold.Error == "" {
			t.Errorf("GET /v1/runs/%s: hold %s released at %s without error, while the address is still blocked (its rollback failed)", wid, hold.Step, hold.ReleasedAt)
		}
	}
	_, out, _ := runCLI(t, "runs", "show", wid, "--api", h.baseURL, "--token", h.token)
	t.Logf("runs show:\n%s", out)
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "rolled back:") || (strings.HasPrefix(l, "hold:") && strings.Contains(l, "released")) {
			if !strings.Contains(l, "fail") {
				t.Errorf("riposte runs show (its rollback failed, the address still blocked) says: %q", l)
			}
		}
	}
	_, out, _ = runCLI(t, "runs", "list", "--playbook", "e2e-hold", "--api", h.baseURL, "--token", h.token)
	t.Logf("runs list:\n%s", out)
	if strings.Contains(out, "rolled back by") && !strings.Contains(out, "fail") {
		t.Errorf("riposte runs list (its rollback failed) says:\n%s", out)
	}

	// The run itself knows: it waited for its rollback's outcome and holds
	// the address again, to release it at contain_for (2h) as planned.
	// Before, the rollback's mark had released the hold for good and the
	// run had ended: the address stayed blocked with no release time.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(150 * time.Millisecond) {
		d = h.runDetail(t, wid)
		if len(d.Holds) == 1 && d.Holds[0].ReleasedAt == nil && d.ClosedAt == nil && d.Status == workflows.RunHolding {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after its rollback failed, the run does not hold the address again: status %s, closed %v, holds %+v", d.Status, d.ClosedAt, d.Holds)
		}
	}
	if ext := strings.Join(d.Holds[0].Extensions, " | "); !strings.Contains(ext, "not released: rollback:"+wid) || !strings.Contains(ext, "failed") {
		t.Errorf("hold notes %q: want the failed rollback named", ext)
	}
	if d.HoldUntil == nil || d.HoldUntil.Before(time.Now().Add(time.Hour)) {
		t.Errorf("HoldUntil %v: want the release time (contain_for 2h) back", d.HoldUntil)
	}

	// Asked again once the firewall answers, the rollback undoes it, and
	// the run, which waited for that outcome too, ends.
	h.sys.Lab.ClearFaults()
	code, b = h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
	if code != 202 {
		t.Fatalf("rollback asked again: %d %s", code, b)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		d = h.runDetail(t, wid)
		if d.ClosedAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not end after its second rollback: status %s, holds %+v", d.Status, d.Holds)
		}
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 0 {
		t.Errorf("blocked in the lab after the second rollback: %+v", blocked)
	}
	if d.RolledBackBy != "U0SOCLEAD1" || d.RollbackStatus != workflows.RunSucceeded || d.Holds[0].ReleasedAt == nil || d.Holds[0].Error != "" {
		t.Errorf("after the second rollback: rolled back by %q, rollback %s, holds %+v", d.RolledBackBy, d.RollbackStatus, d.Holds)
	}
	if *record {
		// A run that waited for a failed rollback, held again, and was
		// rolled back again (rollback-outcome-awaited).
		saveHistory(t, h.sys.Client, wid, d.RunID, *recordPrefix+"failed-rollback-held-again-e2e")
		copyStore(t, h.dir)
	}
}

// TestRollbackAfterFailedRollbackUndoesOnlyWhatIsLeft: a rollback whose
// firewall undo was refused lifted the host's containment all the same
// (a failed undo does not stop the others). Asked again, the rollback
// undoes what is left, the block, and does not lift the host a second
// time: an analyst may have contained it again by hand since. The run
// has no contain_for, so no hold of it says what the first rollback
// undid; the API plans from that rollback's own results.
func TestRollbackAfterFailedRollbackUndoesOnlyWhatIsLeft(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	code, r := h.submit(detectionJSON("two-contain-1", 5, `,"dst_endpoint":{"ip":"203.0.113.97"},"unmapped":{"two_contain":true}`))
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-two-contain")
	if d := h.waitRun(wid, time.Minute); d.Status != workflows.RunSucceeded {
		t.Fatalf("the run: %s, steps %+v", d.Status, d.Steps)
	}
	lifts := func() int {
		n := 0
		for _, c := range h.sys.Lab.State().Calls {
			if c.Vendor == "crowdstrike" && c.Op == "lift_containment" {
				n++
			}
		}
		return n
	}
	rollback := func() api.RollbackResponse {
		t.Helper()
		code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
		var resp api.RollbackResponse
		if code != 202 || json.Unmarshal(b, &resp) != nil {
			t.Fatalf("rollback: %d %s", code, b)
		}
		return resp
	}

	h.sys.Lab.InjectFault(lab.PANOS, lab.Fault{Status: 403, Times: 1000})
	if first := rollback(); len(first.Undo) != 2 {
		t.Fatalf("first rollback plans %+v; want the block and the isolation", first.Undo)
	}
	if rb := h.waitRun("rollback:"+wid, 2*time.Minute); rb.Status != workflows.RunFailed {
		t.Fatalf("the first rollback: %s, want failed (the unblock was refused): %+v", rb.Status, rb.Undo)
	}
	if n := lifts(); n != 1 {
		t.Fatalf("%d lift_containment calls after the first rollback, want 1", n)
	}

	// The analyst contains the host again by hand, in the EDR's console.
	containByHand(t, h.sys.Lab, "fin-ws-042")
	h.sys.Lab.ClearFaults()
	second := rollback()
	if len(second.Undo) != 1 || second.Undo[0].Step != "block" {
		t.Errorf("the rollback asked again plans %+v; want only the block (the first one lifted the isolation)", second.Undo)
	}
	if rb := h.waitRun("rollback:"+wid, 2*time.Minute); rb.Status != workflows.RunSucceeded {
		t.Fatalf("the second rollback: %s: %+v", rb.Status, rb.Undo)
	}
	if n := lifts(); n != 1 {
		t.Errorf("%d lift_containment calls after the second rollback, want still 1: the host was lifted again", n)
	}
	if st := hostState(h.sys.Lab, "fin-ws-042"); st != "contained" {
		t.Errorf("the host the analyst contained again is %q after the second rollback, want contained", st)
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 0 {
		t.Errorf("blocked after the second rollback: %+v", blocked)
	}
}

// containByHand contains host through the CrowdStrike fake's own API (the
// Falcon console's calls): an analyst's action, not Riposte's.
func containByHand(t *testing.T, l *lab.Lab, host string) {
	t.Helper()
	c := l.Connections()[lab.CrowdStrike]
	post := func(path, ctype, auth, body string) []byte {
		req, _ := http.NewRequest("POST", l.URL()+"/crowdstrike"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	form := url.Values{"client_id": {c.Options["client_id"]}, "client_secret": {c.Secrets["client_secret"].Lab}}.Encode()
	if err := json.Unmarshal(post("/oauth2/token", "application/x-www-form-urlencoded", "", form), &tok); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", l.URL()+"/crowdstrike/devices/queries/devices/v1?filter="+url.QueryEscape("hostname:'"+host+"'"), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ids struct {
		Resources []string `json:"resources"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ids)
	resp.Body.Close()
	if err != nil || len(ids.Resources) != 1 {
		t.Fatalf("device id of %s: %v %+v", host, err, ids)
	}
	body, _ := json.Marshal(map[string]any{"ids": ids.Resources})
	post("/devices/entities/devices-actions/v2?action_name=contain", "application/json", tok.AccessToken, string(body))
}

// hostState is host's CrowdStrike state in the lab (normal, contained).
func hostState(l *lab.Lab, host string) string {
	for _, hs := range l.State().Hosts {
		if hs.Hostname == host {
			return hs.CrowdStrike
		}
	}
	return ""
}

// TestRollbackAfterTerminatedRollbackUndoesOnlyWhatIsLeft: an operator
// terminates a rollback stuck retrying the firewall's unblock, after it
// lifted the host's containment. Asked again, the rollback reads what the
// terminated one undid from its history and lifts the host no second
// time (the analyst contained it again by hand meanwhile).
func TestRollbackAfterTerminatedRollbackUndoesOnlyWhatIsLeft(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	code, r := h.submit(detectionJSON("two-contain-2", 5, `,"dst_endpoint":{"ip":"203.0.113.96"},"unmapped":{"two_contain":true}`))
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-two-contain")
	if d := h.waitRun(wid, time.Minute); d.Status != workflows.RunSucceeded {
		t.Fatalf("the run: %s, steps %+v", d.Status, d.Steps)
	}
	// The firewall answers 503 to every call: the unblock is retried.
	h.sys.Lab.InjectFault(lab.PANOS, lab.Fault{Status: 503, Times: 1000})
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
	var first api.RollbackResponse
	if code != 202 || json.Unmarshal(b, &first) != nil {
		t.Fatalf("rollback: %d %s", code, b)
	}
	for deadline := time.Now().Add(30 * time.Second); hostState(h.sys.Lab, "fin-ws-042") != "normal"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the rollback never lifted the host")
		}
	}
	if err := h.sys.Client.TerminateWorkflow(context.Background(), first.WorkflowID, first.RunID, "stuck on the firewall"); err != nil {
		t.Fatal(err)
	}
	containByHand(t, h.sys.Lab, "fin-ws-042")
	h.sys.Lab.ClearFaults()
	code, b = h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("U0SOCLEAD1"), `{}`)
	var second api.RollbackResponse
	if code != 202 || json.Unmarshal(b, &second) != nil {
		t.Fatalf("rollback asked again: %d %s", code, b)
	}
	if len(second.Undo) != 1 || second.Undo[0].Step != "block" {
		t.Errorf("the rollback asked again plans %+v; want only the block (the terminated one lifted the isolation)", second.Undo)
	}
	if rb := h.waitRun("rollback:"+wid, 2*time.Minute); rb.Status != workflows.RunSucceeded {
		t.Fatalf("the second rollback: %s: %+v", rb.Status, rb.Undo)
	}
	if st := hostState(h.sys.Lab, "fin-ws-042"); st != "contained" {
		t.Errorf("the host the analyst contained again is %q after the second rollback, want contained", st)
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 0 {
		t.Errorf("blocked after the second rollback: %+v", blocked)
	}
}
