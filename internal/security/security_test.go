package security

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/cli"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

// syncBuffer collects the system's logs (the audit records).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t    *testing.T
	dev  *cli.TestDev
	logs *syncBuffer
	toks map[string]string
	wid  string
}

func (e *env) do(method, path, token, ctype, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.dev.APIURL()+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// gate returns the gate's state and votes.
func (e *env) gate() workflows.Gate {
	e.t.Helper()
	code, b := e.do("GET", "/v1/runs/"+url.PathEscape(e.wid), e.toks["reader"], "", "")
	if code != 200 {
		e.t.Fatalf("reading the run: %d %s", code, b)
	}
	var d api.RunDetail
	if err := json.Unmarshal([]byte(b), &d); err != nil {
		e.t.Fatal(err)
	}
	for _, s := range d.Steps {
		if s.Gate != nil {
			return *s.Gate
		}
	}
	return workflows.Gate{}
}

// unchanged checks nothing moved: the gate pending with no vote, the lab
// host never contained.
func (e *env) unchanged(attack string) {
	e.t.Helper()
	time.Sleep(300 * time.Millisecond) // let a queued signal reach the worker
	if g := e.gate(); g.State != workflows.GatePending || len(g.Votes) != 0 {
		e.t.Fatalf("%s: gate changed: state %s, votes %+v", attack, g.State, g.Votes)
	}
	if n := len(e.dev.Lab().CallsFor("crowdstrike", "", "")); n != 0 {
		e.t.Fatalf("%s: the lab saw %d CrowdStrike calls: %+v", attack, n, e.dev.Lab().Calls())
	}
}

// mark is where the log stands before an attack: its audit record is
// looked for after it.
func (e *env) mark() int { return len(e.logs.String()) }

// audited checks the attack's refusal is audited: exactly one record msg
// written since mark, at warning level, naming every want (what was
// refused and why) and not quoting secret. Records from the worker are
// written when it processes the signal or Update, so it waits for them.
func (e *env) audited(attack string, mark int, msg, secret string, wants ...string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var recs []string
		for _, line := range strings.Split(e.logs.String()[mark:], "\n") {
			if strings.Contains(line, `msg="`+msg+`"`) {
				recs = append(recs, line)
			}
		}
		if len(recs) > 0 || time.Now().After(deadline) {
			if len(recs) != 1 {
				e.t.Errorf("%s: %d %q audit records, want 1: %q", attack, len(recs), msg, recs)
				return
			}
			rec := recs[0]
			if !strings.Contains(rec, "level=WARN") {
				e.t.Errorf("%s: audit record not at warning level: %s", attack, rec)
			}
			for _, w := range wants {
				if !strings.Contains(rec, w) {
					e.t.Errorf("%s: audit record does not say %q: %s", attack, w, rec)
				}
			}
			if secret != "" && strings.Contains(rec, secret) {
				e.t.Errorf("%s: audit record quotes a secret: %s", attack, rec)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAttacksAreRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts riposte dev (embedded Temporal)")
	}
	t.Setenv("RIPOSTE_API_TOKEN", "")
	t.Setenv("RIPOSTE_USER", "")
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", codec.EnvKeyFile, codec.EnvKeys, signing.EnvKeyFile, signing.EnvKeys, "RIPOSTE_TOKENS_FILE"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	logs := &syncBuffer{}
	pb, _ := filepath.Abs("testdata")
	dev, err := cli.StartTestDev(context.Background(), dir, pb, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	e := &env{t: t, dev: dev, logs: logs, toks: map[string]string{}}
	store := auth.NewStore(filepath.Join(dir, auth.TokensFile))
	for name, spec := range map[string]struct{ user, scopes string }{
		"attacker": {"U0ATTACKER", "intake,approve,read"}, "lead": {"U0SOCLEAD1", "approve,read"},
		"reader": {"U0READER", "read"}, "intake": {"U0DETECTOR", "intake"}, "revoked": {"U0INFRA001", "approve"},
	} {
		scopes, _ := auth.ParseScopes(spec.scopes)
		tok, rec, err := store.Create(spec.user, scopes, name, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		e.toks[name] = tok
		if name == "revoked" {
			if _, err := store.Revoke(rec.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The attacker submits a detection (its intake token: it is the
	// submitter) that gates isolating a host on two approvers, quorum 2.
	det := `{"class_uid":2004,"time":1763458937000,"severity_id":5,"confidence_score":95,"finding_info":{"uid":"sec-1","title":"x"},` +
		`"metadata":{"product":{"name":"Sentinel-LLM Triage"}},"device":{"hostname":"fin-ws-042"},"unmapped":{"sec":true}}`
	code, b := e.do("POST", "/v1/detections", e.toks["attacker"], "application/json", det)
	if code != 202 {
		t.Fatalf("submit: %d %s", code, b)
	}
	var resp api.DetectionsResponse
	_ = json.Unmarshal([]byte(b), &resp)
	e.wid = resp.Detections[0].Matched[0].WorkflowID
	deadline := time.Now().Add(time.Minute)
	for e.gate().State != workflows.GatePending {
		if time.Now().After(deadline) {
			t.Fatalf("gate never opened")
		}
		time.Sleep(200 * time.Millisecond)
	}

	approvals := "/v1/runs/" + url.PathEscape(e.wid) + "/approvals"
	vote := func(user string) string {
		return fmt.Sprintf(`{"step":"isolate","decision":"approve","user":%q}`, user)
	}
	id := url.PathEscape(e.wid)
	const (
		noIdentity   = "refused: token bound to no identity"
		notCaller    = `is not the caller`
		noAuth       = "unauthenticated: missing or wrong API token"
		selfApproval = "U0ATTACKER requested this action and cannot approve it"
	)
	apiAttacks := []struct {
		name, token, path, ctype, body string
		status                         int
		// refusal: what the API's audit record says; worker: what the
		// workflow's audit record of the refused Update says (when the
		// API passed the decision on and the workflow refused it).
		refusal, worker string
	}{
		// Attack 1: one token, typed users.
		{"dev token typing an approver", e.dev.Token(), approvals, "application/json", vote("U0SOCLEAD1"), 403, noIdentity, ""},
		{"dev token typing the second approver", e.dev.Token(), approvals, "application/json", vote("U0INFRA001"), 403, noIdentity, ""},
		{"another person's user with a valid token", e.toks["lead"], approvals, "application/json", vote("U0INFRA001"), 403, `body user \"U0INFRA001\" ` + notCaller, ""},
		{"dev token rolling back as anyone", e.dev.Token(), "/v1/runs/" + id + "/rollback", "application/json", `{"user":"U0SOCLEAD1"}`, 403, noIdentity, ""},
		{"dev token switching safe mode off", e.dev.Token(), "/v1/policy/safe-mode", "application/json", `{"enabled":false,"user":"U0SOCLEAD1"}`, 403, noIdentity, ""},
		{"dev token extending a hold as anyone", e.dev.Token(), "/v1/runs/" + id + "/extend", "application/json", `{"step":"isolate","by":"4h","user":"U0SOCLEAD1"}`, 403, noIdentity, ""},
		{"approver token extending a hold", e.toks["lead"], "/v1/runs/" + id + "/extend", "application/json", `{"step":"isolate","by":"4h","user":"U0INFRA001"}`, 403, "missing scope operate", ""},
		// Attack 3: self-approval with a look-alike id.
		{"self-approval with a zero-width space", e.toks["attacker"], approvals, "application/json", vote("U0ATTACKER\u200b"), 409, "decision refused: " + selfApproval, selfApproval},
		{"self-approval", e.toks["attacker"], approvals, "application/json", `{"step":"isolate","decision":"approve"}`, 409, "decision refused: " + selfApproval, selfApproval},
		// Done means: scopes, revocation.
		{"token without approve scope", e.toks["reader"], approvals, "application/json", `{"step":"isolate","decision":"approve"}`, 403, "missing scope approve", ""},
		{"intake token approving", e.toks["intake"], approvals, "application/json", `{"step":"isolate","decision":"approve"}`, 403, "missing scope approve", ""},
		{"revoked token", e.toks["revoked"], approvals, "application/json", `{"step":"isolate","decision":"approve"}`, 401, "unauthenticated: token revoked", ""},
		// CSRF-style text/plain posts with no token (a browser can send them).
		{"CSRF text/plain approval", "", approvals, "text/plain", vote("U0SOCLEAD1"), 401, noAuth, ""},
		{"CSRF text/plain detection", "", "/v1/detections", "text/plain", det, 401, noAuth, ""},
		{"CSRF text/plain safe mode", "", "/v1/policy/safe-mode", "text/plain", `{"enabled":false,"user":"U0SOCLEAD1"}`, 401, noAuth, ""},
	}
	for _, a := range apiAttacks {
		m := e.mark()
		code, b := e.do("POST", a.path, a.token, a.ctype, a.body)
		if code != a.status || !strings.Contains(b, `"status"`) {
			t.Errorf("%s: %d %s, want %d problem+json", a.name, code, b, a.status)
		}
		e.unchanged(a.name)
		e.audited(a.name, m, "audit: api call refused", a.token, a.refusal, fmt.Sprintf("status=%d", a.status), "path="+strings.Split(a.path, "?")[0])
		if a.worker != "" {
			e.audited(a.name+" (worker)", m, "audit: decision update refused", a.token, a.worker)
		}
	}

	// The same votes asking not to wait (Prefer: respond-async: a signal,
	// answered 202 once recorded). The API still checks who is calling;
	// the run checks the gate's rules, refuses, audits and keeps why.
	for _, a := range []struct {
		name, token, body string
		status            int
		refusal, worker   string
	}{
		{"async: dev token typing an approver", e.dev.Token(), vote("U0SOCLEAD1"), 403, noIdentity, ""},
		{"async: another person's user", e.toks["lead"], vote("U0INFRA001"), 403, `body user \"U0INFRA001\" ` + notCaller, ""},
		{"async: self-approval with a zero-width space", e.toks["attacker"], vote("U0ATTACKER\u200b"), 202, "", selfApproval},
		{"async: revoked token", e.toks["revoked"], `{"step":"isolate","decision":"approve"}`, 401, "unauthenticated: token revoked", ""},
	} {
		m := e.mark()
		req, _ := http.NewRequest("POST", e.dev.APIURL()+approvals, strings.NewReader(a.body))
		req.Header.Set("Authorization", "Bearer "+a.token)
		req.Header.Set("Prefer", "respond-async")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != a.status {
			t.Errorf("%s: %d %s, want %d", a.name, resp.StatusCode, rb, a.status)
		}
		e.unchanged(a.name)
		if a.refusal != "" {
			e.audited(a.name, m, "audit: api call refused", a.token, a.refusal, fmt.Sprintf("status=%d", a.status))
		}
		if a.worker != "" {
			e.audited(a.name+" (worker)", m, "audit: decision signal refused", a.token, a.worker)
			if g := e.gate(); len(g.Refused) == 0 || !strings.Contains(g.Refused[len(g.Refused)-1].Refusal, a.worker) {
				t.Errorf("%s: refusal not kept on the gate: %+v", a.name, g.Refused)
			}
		}
	}

	// Attack 2 and "straight through the Temporal client": a process that
	// can reach the frontend (even with the codec key) cannot decide.
	c, err := client.Dial(client.Options{HostPort: dev.FrontendAddress(), Namespace: dev.Namespace(), Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	slackVote := workflows.Decision{GateID: "isolate", Approve: true, User: "U0INFRA001", Via: workflows.ViaSlack}
	// Unencrypted signal claiming Slack (the frontend HTTP API attack): the
	// worker's codec refuses the payload.
	m := e.mark()
	if err := c.SignalWorkflow(ctx, e.wid, "", workflows.SignalDecide, slackVote); err != nil {
		t.Fatal(err)
	}
	e.unchanged("unencrypted decide signal")
	e.audited("unencrypted decide signal", m, "audit: unencrypted payload refused", "", "encoding=json/plain", "not encrypted")
	var opts client.Options
	codec.ConfigureClientOptions(&opts, dev.Keys(), codec.Options{})
	opts.HostPort, opts.Namespace = dev.FrontendAddress(), dev.Namespace()
	cc, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	// Encrypted but unsigned, then with a forged seal (a guessed key).
	forged := slackVote
	guess, _ := signing.NewKeys("dev", map[string][]byte{"dev": []byte("the attacker's guess, 32 bytes!!")})
	forged.Seal = guess.Sign(workflows.DecisionClaim(e.wid, forged), time.Now())
	for _, tc := range []struct {
		name, refusal string
		d             workflows.Decision
	}{{"unsigned", "unsigned decision", slackVote}, {"forged HMAC", "forged decision", forged}} {
		name, d := tc.name, tc.d
		m := e.mark()
		if err := cc.SignalWorkflow(ctx, e.wid, "", workflows.SignalDecide, d); err != nil {
			t.Fatal(err)
		}
		e.unchanged(name + " decide signal")
		e.audited(name+" decide signal", m, "audit: decision signal refused", "", tc.refusal, "user=U0INFRA001", "via=slack")
		m = e.mark()
		h, err := cc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: e.wid, UpdateName: workflows.UpdateDecide,
			Args: []any{d}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err == nil || !strings.Contains(err.Error(), tc.refusal) {
			t.Errorf("%s decide Update: %v", name, err)
		}
		e.unchanged(name + " decide Update")
		e.audited(name+" decide Update", m, "audit: decision update refused", "", tc.refusal, "user=U0INFRA001", "via=slack")
	}
	// The other ways to move a run from outside: an unsigned extension
	// (Update) and an unsigned withdrawal of the finding (signal), which
	// would close the gate.
	m = e.mark()
	hx, err := cc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: e.wid, UpdateName: workflows.UpdateExtend,
		Args: []any{workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(4 * time.Hour), User: "U0SOCLEAD1", Via: workflows.ViaAPI}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = hx.Get(ctx, nil)
	}
	if err == nil || !strings.Contains(err.Error(), "unsigned decision") {
		t.Errorf("unsigned extend Update: %v", err)
	}
	e.unchanged("unsigned extend Update")
	e.audited("unsigned extend Update", m, "audit: extend update refused", "", "unsigned decision", "user=U0SOCLEAD1")
	m = e.mark()
	withdraw := workflows.FindingUpdate{Finding: map[string]any{"state": "withdrawn", "state_reason": "attacker"}, By: "U0DETECTOR", Via: workflows.ViaIntake}
	if err := cc.SignalWorkflow(ctx, e.wid, "", workflows.SignalFinding, withdraw); err != nil {
		t.Fatal(err)
	}
	e.unchanged("unsigned finding withdrawal signal")
	e.audited("unsigned finding withdrawal signal", m, "audit: finding signal refused", "", "unsigned decision", "by=U0DETECTOR")

	// Attack 4: Slack clicks that are not our Slack app's. The Slack fake
	// of riposte dev plays Slack: a click it signs is what Slack would
	// send; U0INFRA001 is one of the gate's approvers.
	secret := dev.SlackSigningSecret()
	if secret == "" {
		t.Fatal("riposte dev runs no Slack fake")
	}
	slackPost := func(body []byte, ts time.Time, sig string) (int, string) {
		req, _ := http.NewRequest("POST", dev.APIURL()+slackfake.InteractionsPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(slackapp.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		req.Header.Set(slackapp.HeaderSignature, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("Slack click: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	click := func(user string, mut func(map[string]any)) []byte {
		p := slackfake.BlockActionPayload(user, e.wid, "isolate", slackapp.ActionApprove, "C0RIPOSTE01", "")
		if mut != nil {
			mut(p)
		}
		return slackfake.InteractionBody(p)
	}
	for _, a := range []struct {
		name, key string
		body      []byte
		status    int
		refusal   string
	}{
		{"Slack click signed with a guessed secret", "the attacker's guess at the secret", click("U0INFRA001", nil), 401, "signature: signature mismatch"},
		{"Slack click from another workspace", secret, click("U0INFRA001", func(p map[string]any) { p["team"] = map[string]any{"id": "T0EVIL0001", "domain": "evil"} }), 403, `team.id \"T0EVIL0001\"`},
		{"Slack click from another app", secret, click("U0INFRA001", func(p map[string]any) { p["api_app_id"] = "A0EVIL0001" }), 403, `api_app_id \"A0EVIL0001\"`},
	} {
		m := e.mark()
		now := time.Now()
		if code, b := slackPost(a.body, now, slackfake.Sign(a.key, now, a.body)); code != a.status {
			t.Errorf("%s: %d %s, want %d", a.name, code, b, a.status)
		}
		e.unchanged(a.name)
		e.audited(a.name, m, "audit: slack interaction refused", secret, a.refusal)
	}
	// A replayed Slack request, its hex signature upper-cased: the first
	// (a click by someone the gate does not name) reaches the workflow and
	// is refused there; the copy is refused as a replay before that.
	body, now := click("UOTHER", nil), time.Now()
	sig := slackfake.Sign(secret, now, body)
	m = e.mark()
	if code, b := slackPost(body, now, sig); code != 200 {
		t.Errorf("Slack click by a non-approver: %d %s, want 200 (acknowledged)", code, b)
	}
	e.unchanged("Slack click by a non-approver")
	e.audited("Slack click by a non-approver", m, "audit: decision update refused", secret, "UOTHER is not an approver", "via=slack")
	m = e.mark()
	if code, b := slackPost(body, now, "v0="+strings.ToUpper(strings.TrimPrefix(sig, "v0="))); code != 409 {
		t.Errorf("replayed Slack request (upper-case hex): %d %s, want 409", code, b)
	}
	e.unchanged("replayed Slack request")
	e.audited("replayed Slack request", m, "audit: slack interaction refused", secret, "replayed signed request")

	// CSRF-style text/plain posts to every other listening port of riposte
	// dev: the UI's codec endpoint on the API port, the Web UI (its CSRF
	// check refuses it; riposte audits the refusal). The frontend's HTTP
	// API is off here; a signal sent through it is the unencrypted signal
	// above.
	uiPath := "/api/v1/namespaces/default/workflows/" + url.PathEscape(e.wid) + "/signal/decide"
	for _, target := range []struct{ url, msg, audit, status string }{
		{dev.APIURL() + "/codec/encode", "audit: api call refused", "path=/codec/encode", "status=401"},
		{dev.UIURL() + uiPath, "audit: web UI request refused", "method=POST", "status=40"},
	} {
		m := e.mark()
		req, _ := http.NewRequest("POST", target.url, strings.NewReader(`{"gate_id":"isolate","approve":true,"user":"U0INFRA001","via":"slack"}`))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Origin", "http://evil.example")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("CSRF text/plain POST %s: %d", target.url, resp.StatusCode)
			}
		}
		e.unchanged("CSRF " + target.url)
		e.audited("CSRF "+target.url, m, target.msg, "", target.audit, target.status)
	}

	// The legitimate path still works: both approvers with their own
	// tokens open the gate and the lab contains the host once.
	infra, _, _ := store.Create("U0INFRA001", []string{auth.ScopeApprove}, "infra", time.Now())
	for _, tok := range []string{e.toks["lead"], infra} {
		if code, b := e.do("POST", approvals, tok, "application/json", `{"step":"isolate","decision":"approve","reason":"confirmed"}`); code != 200 {
			t.Fatalf("legitimate vote: %d %s", code, b)
		}
	}
	deadline = time.Now().Add(time.Minute)
	for len(dev.Lab().CallsFor("crowdstrike", "", "fin-ws-042")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the approved isolation never reached the lab")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if g := e.gate(); g.State != workflows.GateApproved || len(g.Votes) != 2 || g.Votes[0].User != "U0SOCLEAD1" || g.Votes[1].Via != workflows.ViaAPI {
		t.Errorf("gate after the two approvals: %+v", g)
	}
}
