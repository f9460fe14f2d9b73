package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

// The bad input catalogue: every kind of mistake a user can make in a
// playbook, a detection, an API request, a Slack request, riposte.yaml or
// policy.yaml, with the exact error the user sees. The expected errors are
// in testdata/badinput/<category>.golden, input and answer side by side;
// go test ./test/e2e -run TestBadInputCatalogue -update rewrites them
// (then read every changed line: each one is a message a user will read).
//
// The HTTP cases run against one real `riposte dev` (embedded Temporal,
// worker, API, Slack on the fake). After them the test checks that nothing
// was started or lost: no run exists, then one good detection still starts
// exactly one run, and the cases that need a run refuse without changing it
// or starting anything else.

// Categories of the catalogue, one golden file each.
const (
	catPlaybook  = "playbook"
	catDetection = "detection"
	catAPI       = "api"
	catSlack     = "slack"
	catConfig    = "config"
	catPolicy    = "policy"
)

var badInputCategories = []string{catPlaybook, catDetection, catAPI, catSlack, catConfig, catPolicy}

// Ways of signing a Slack request.
const (
	slackSigned      = "signed"
	slackWrongSecret = "wrong-secret"
	slackStale       = "stale"
	slackUnsigned    = "unsigned"
	slackNotHex      = "not-hex"
)

const badInputSlackSecret = "badinput-signing-secret-5f1c2a9e"

// Phases of the catalogue: before any run exists; while the good
// detection's run waits at its approval gate; after that run has ended.
const (
	phaseNoRun = iota
	phaseRunWaiting
	phaseRunEnded
)

// Modifiers of a case, for the table.

// update rewrites the golden files (testdata/badinput) instead of comparing.
var update = flag.Bool("update", false, "rewrite the golden files")

func (c badInput) withAuth(a string) badInput        { c.auth = a; return c }
func (c badInput) withMethod(m string) badInput      { c.method = m; return c }
func (c badInput) withPath(p string) badInput        { c.path = p; return c }
func (c badInput) streamed() badInput                { c.chunked = true; return c }
func (c badInput) withContentType(t string) badInput { c.contentType = t; return c }
func (c badInput) sentTwice() badInput               { c.repeat = true; return c }
func (c badInput) inPhase(p int) badInput            { c.phase = p; return c }

// badInput is one case of the catalogue.
type badInput struct {
	category string
	name     string
	// input is the file source (playbook, config, policy) or the request
	// body (detection, api, slack).
	input string
	// HTTP cases: method and path; "{run}" in path stands for the
	// workflow id of the run started by the good detection.
	method, path string
	// auth is "" for the right API token, "none" for no Authorization
	// header, else the header value sent.
	auth string
	// chunked sends the body without Content-Length.
	chunked bool
	// contentType overrides the request's Content-Type.
	contentType string
	// slack says how a Slack request is signed (slack* constants).
	slack string
	// repeat sends the request twice; the second answer is the case's.
	repeat bool
	// phase says when the case runs (phase* constants).
	phase int
	// env is the environment riposte.yaml is checked against.
	env map[string]string
}

// basePlaybook is valid; the playbook cases each break one thing in it.
const basePlaybook = `apiVersion: riposte/v1
name: contain-host
version: 1
trigger:
  when: detection.severity_id >= 4
steps:
  - id: lookup
    action: core.noop
    with: {host: "${{ detection.device.hostname }}"}
  - id: note
    action: core.log
    needs: [lookup]
    with: {message: "looked up ${{ steps.lookup.output.host }}"}
`

// edit replaces old (which must occur exactly once) in s.
func edit(s, old, new string) string {
	if strings.Count(s, old) != 1 {
		panic(fmt.Sprintf("edit: %q occurs %d times", old, strings.Count(s, old)))
	}
	return strings.Replace(s, old, new, 1)
}

// baseConnections is a valid riposte.yaml against badInputEnv.
const baseConnections = `connections:
  crowdstrike:
    type: crowdstrike
    base_url: https://api.us-2.crowdstrike.com
    client_id: ${CS_CLIENT_ID}
    client_secret: {env: CS_CLIENT_SECRET}
`

var badInputEnv = map[string]string{"CS_CLIENT_ID": "0123abcd", "CS_CLIENT_SECRET": "not-a-real-secret"}

// basePolicy is a valid policy.yaml.
const basePolicy = `protected:
  hosts: ["dc-*"]
  cidrs: ["10.0.0.0/8"]
  action: gate
confidence_floor: 80
budgets:
  - {action: "*", max: 10, per: 1h}
`

// oneLine is a valid detection on one line, for NDJSON.
func oneLine(uid string, severity int) string {
	return strings.ReplaceAll(detectionJSON(uid, severity, ""), "\n", "")
}

func badInputCases() []badInput {
	det := func(name, body string) badInput {
		return badInput{category: catDetection, name: name, input: body, method: "POST", path: "/v1/detections"}
	}
	apiCase := func(name, method, path, body string) badInput {
		return badInput{category: catAPI, name: name, input: body, method: method, path: path}
	}
	slack := func(name, sign, body string) badInput {
		return badInput{category: catSlack, name: name, input: body, method: "POST", path: "/slack/interactions", slack: sign}
	}
	pb := func(name, src string) badInput { return badInput{category: catPlaybook, name: name, input: src} }
	conn := func(name, src string) badInput {
		return badInput{category: catConfig, name: name, input: src, env: badInputEnv}
	}
	pol := func(name, src string) badInput { return badInput{category: catPolicy, name: name, input: src} }
	form := func(payload string) string { return string(slackfake.InteractionBody(payload)) }
	// A click on Approve, as Slack sends it (shortened).
	click := `{"type":"block_actions","user":{"id":"UOTHER","team_id":"T0FAKE"},"channel":{"id":"CSECOPS"},` +
		`"actions":[{"type":"button","action_id":"riposte_approve","value":"{\"w\":\"some-run\",\"g\":\"approve\"}"}]}`

	deep := `{"class_uid":2004,"unmapped":` + strings.Repeat(`{"a":`, 64) + `1` + strings.Repeat(`}`, 64) + `}`
	many := "[" + strings.TrimSuffix(strings.Repeat("{},", 1001), ",") + "]"
	big := detectionJSON("big-1", 5, `,"unmapped":{"pad":"`+strings.Repeat("a", 5000)+`"}`)

	var cases []badInput
	cases = append(cases,
		// Playbooks, checked as `riposte validate` and `riposte dev` check them.
		pb("yaml-syntax", edit(basePlaybook, `with: {host: "${{ detection.device.hostname }}"}`, `with: {host: "${{ detection.device.hostname }}"`)),
		pb("unknown-key", edit(basePlaybook, "version: 1\n", "version: 1\ndescripton: Contain the host\n")),
		pb("missing-required", edit(basePlaybook, "name: contain-host\n", "")),
		pb("wrong-type", edit(basePlaybook, "version: 1", `version: "one"`)),
		pb("duplicate-step-id", basePlaybook+"  - id: lookup\n    action: core.noop\n"),
		pb("unknown-action", edit(basePlaybook, "action: core.log", "action: core.lgo")),
		pb("contain-for-too-long", basePlaybook+"  - id: isolate\n    action: crowdstrike.contain_host\n    with: {hostname: \"${{ detection.device.hostname }}\"}\n    approval: auto\n    contain_for: 400d\n"),
		pb("unknown-param", edit(basePlaybook, `output.host }}"}`, `output.host }}", levle: warn}`)),
		pb("missing-param", edit(basePlaybook, `with: {message: "looked up ${{ steps.lookup.output.host }}"}`, `with: {level: warn}`)),
		pb("wrongly-typed-param", edit(edit(basePlaybook, "action: core.log", "action: core.fail"), `with: {message: "looked up ${{ steps.lookup.output.host }}"}`, `with: {message: "drill", retryable: "yes"}`)),
		pb("needs-unknown-step", edit(basePlaybook, "needs: [lookup]", "needs: [lookpu]")),
		pb("cycle", edit(basePlaybook, "    action: core.noop\n", "    action: core.noop\n    needs: [note]\n")),
		pb("bad-expression", edit(basePlaybook, "when: detection.severity_id >= 4", "when: detection.severity_id >= && detection.confidence_score > 80")),
		pb("non-bool-if", edit(basePlaybook, "    needs: [lookup]\n", "    needs: [lookup]\n    if: len(detection.finding_info.uid)\n")),
		pb("not-upstream", basePlaybook+"  - id: ticket\n    action: core.log\n    needs: [lookup]\n    with: {message: \"${{ steps.note.output.message }}\"}\n"),
		pb("bad-duration", edit(basePlaybook, "    needs: [lookup]\n", "    needs: [lookup]\n    timeout: 5 minutes\n")),
		pb("bad-api-version", edit(basePlaybook, "apiVersion: riposte/v1", "apiVersion: riposte/v2")),
		pb("item-outside-for-each", edit(basePlaybook, `{host: "${{ detection.device.hostname }}"}`, `{host: "${{ item }}"}`)),
		pb("nondeterministic-now", edit(basePlaybook, "    needs: [lookup]\n", "    needs: [lookup]\n    if: now().Hour() > 8\n")),

		// Detections, POSTed to a running riposte dev (--max-body 4096).
		det("empty-body", ""),
		det("malformed-json", "{\"class_uid\": 2004,\n \"time\": 1763458937000,\n \"severity_id\": 5\n \"finding_info\": {\"uid\": \"x-1\"}}"),
		det("array-with-a-non-object", "["+oneLine("arr-1", 5)+",\n \"arr-2\"]"),
		det("ndjson-bad-second-line", oneLine("nd-1", 5)+"\n"+`{"class_uid": 2004, "time": 1763458937000, "severity_id": 5,}`+"\n"),
		det("ndjson-two-objects-on-one-line", oneLine("nd-2", 5)+" "+oneLine("nd-3", 5)+"\n"),
		det("duplicate-key", `{"class_uid": 2004, "severity_id": 5, "severity_id": 1}`),
		det("missing-finding-uid", strings.Replace(oneLine("x", 5), `"uid":"x",`, "", 1)),
		det("severity-7", oneLine("sev-7", 7)),
		det("confidence-150", strings.Replace(oneLine("conf-150", 5), `"confidence_score":90`, `"confidence_score":150`, 1)),
		det("class-uid-1001", strings.Replace(oneLine("class-1001", 5), `"class_uid":2004`, `"class_uid":1001`, 1)),
		det("numbers-as-strings", strings.Replace(strings.Replace(oneLine("str-1", 5), `"severity_id":5`, `"severity_id":"5"`, 1), `"time":1763458937000`, `"time":"2025-11-18T09:42:17Z"`, 1)),
		det("second-detection-invalid", "["+oneLine("batch-1", 5)+",\n"+`{"class_uid":2004,"time":1,"severity_id":5,"finding_info":{"uid":"  "},"metadata":{"product":{"name":"x"}}}`+"]"),
		det("envelope-with-invalid-detection", `{"dry_run": true, "detections": [{"class_uid": 2004, "finding_info": {"uid": "env-1"}}]}`),
		det("too-deep", deep),
		det("too-many-detections", many),
		det("oversized-content-length", big),
		det("oversized-streamed", big).streamed(),
		det("missing-token", oneLine("tok-1", 5)).withAuth("none"),
		det("wrong-token", oneLine("tok-2", 5)).withAuth("Bearer not-the-token"),
		det("token-without-bearer", oneLine("tok-3", 5)).withAuth("token-without-scheme"),
		det("wrong-method", "").withMethod("GET"),
		det("unknown-route", oneLine("route-1", 5)).withPath("/v1/detection"),

		// Other API requests.
		apiCase("approval-missing-user", "POST", "/v1/runs/some-run/approvals", `{"step": "approve", "decision": "approve"}`),
		apiCase("approval-bad-decision", "POST", "/v1/runs/some-run/approvals", `{"step": "approve", "decision": "yes", "user": "U012AB3CD"}`),
		apiCase("approval-unknown-field", "POST", "/v1/runs/some-run/approvals", `{"step": "approve", "decision": "approve", "user": "U012AB3CD", "comment": "ok"}`),
		apiCase("approval-empty-body", "POST", "/v1/runs/some-run/approvals", ``),
		apiCase("approval-unknown-run", "POST", "/v1/runs/no-such-run/approvals", `{"step": "approve", "decision": "approve", "user": "U012AB3CD"}`),
		apiCase("approval-step-without-gate", "POST", "/v1/runs/{run}/approvals", `{"step": "enrich", "decision": "approve", "user": "URECORDER"}`).inPhase(phaseRunWaiting),
		apiCase("approval-not-an-approver", "POST", "/v1/runs/{run}/approvals", `{"step": "approve", "decision": "approve", "user": "UMALLORY"}`).inPhase(phaseRunWaiting),
		apiCase("approval-on-ended-run", "POST", "/v1/runs/{run}/approvals", `{"step": "approve", "decision": "approve", "user": "UOTHER"}`).inPhase(phaseRunEnded),
		apiCase("extend-bad-duration", "POST", "/v1/runs/some-run/extend", `{"step": "block", "by": "forever", "user": "U012AB3CD"}`),
		apiCase("extend-too-long", "POST", "/v1/runs/some-run/extend", `{"step": "block", "by": "3000000h", "user": "U012AB3CD"}`),
		apiCase("extend-negative", "POST", "/v1/runs/some-run/extend", `{"step": "block", "by": "-4h", "user": "U012AB3CD"}`),
		apiCase("extend-bare-zero", "POST", "/v1/runs/some-run/extend", `{"step": "block", "by": 0, "user": "U012AB3CD"}`),
		apiCase("extend-unknown-run", "POST", "/v1/runs/no-such-run/extend", `{"step": "block", "by": "4h", "user": "U012AB3CD"}`),
		apiCase("rollback-missing-user", "POST", "/v1/runs/some-run/rollback", `{}`),
		apiCase("rollback-unknown-run", "POST", "/v1/runs/no-such-run/rollback", `{"user": "U012AB3CD"}`),
		apiCase("rollback-nothing-to-undo", "POST", "/v1/runs/{run}/rollback", `{"user": "U012AB3CD"}`).inPhase(phaseRunWaiting),
		apiCase("extend-ended-run", "POST", "/v1/runs/{run}/extend", `{"step": "approve", "by": "4h", "user": "U012AB3CD"}`).inPhase(phaseRunEnded),
		apiCase("runs-limit-zero", "GET", "/v1/runs?limit=0", ``),
		apiCase("runs-limit-not-a-number", "GET", "/v1/runs?limit=ten", ``),
		apiCase("run-unknown", "GET", "/v1/runs/no-such-run", ``),
		apiCase("safe-mode-missing-user", "POST", "/v1/policy/safe-mode", `{"enabled": true}`),
		apiCase("safe-mode-wrong-type", "POST", "/v1/policy/safe-mode", `{"enabled": "yes", "user": "U012AB3CD"}`),

		// Slack interactions (signing secret badInputSlackSecret).
		slack("bad-signature", slackWrongSecret, form(click)),
		slack("stale-timestamp", slackStale, form(click)),
		slack("unsigned", slackUnsigned, form(click)),
		slack("signature-not-hex", slackNotHex, form(click)),
		slack("malformed-payload", slackSigned, form(`{"type": "block_actions", "user": `)),
		slack("no-payload-field", slackSigned, "token=x&team_id=T1"),
		slack("payload-without-type", slackSigned, form(`{"user": {"id": "UOTHER"}}`)),
		slack("json-instead-of-form", slackSigned, click).withContentType("application/json"),
		slack("replayed", slackSigned, form(`{"type": "block_actions"}`)).sentTwice(),

		// riposte.yaml, checked with CS_CLIENT_ID and CS_CLIENT_SECRET set.
		conn("unknown-type", edit(baseConnections, "type: crowdstrike", "type: crowdstrik")),
		conn("missing-base-url", "connections:\n  sentinelone:\n    type: sentinelone\n    api_token: {env: CS_CLIENT_SECRET}\n"),
		conn("unset-env-var", edit(baseConnections, "${CS_CLIENT_ID}", "${CS_CLIENT_ID_UNSET}")),
		conn("secret-written-inline", edit(baseConnections, "{env: CS_CLIENT_SECRET}", "hunter2")),
		conn("connections-not-a-mapping", "connections:\n  - crowdstrike\n"),

		// policy.yaml.
		pol("bad-protected-action", edit(basePolicy, "action: gate", "action: block")),
		pol("bad-cidr", edit(basePolicy, "10.0.0.0/8", "10.0.0.0/33")),
		pol("bad-budget", edit(basePolicy, `{action: "*", max: 10, per: 1h}`, `{action: "*", max: 0, per: 1w}`)),
		pol("confidence-floor-out-of-range", edit(basePolicy, "confidence_floor: 80", "confidence_floor: 150")),
		pol("unknown-key", edit(basePolicy, "protected:", "protect:")),
	)
	return cases
}

// TestBadInputCatalogue runs every case of the catalogue and compares what
// the user sees with testdata/badinput/<category>.golden. With -short only
// the file cases (playbook, config, policy) run: the others need riposte dev.
func TestBadInputCatalogue(t *testing.T) {
	cases := badInputCases()
	if len(cases) < 40 {
		t.Fatalf("%d cases; the catalogue holds at least 40", len(cases))
	}
	seen := map[string]bool{}
	perCat := map[string]int{}
	for _, c := range cases {
		key := c.category + "/" + c.name
		if seen[key] {
			t.Fatalf("case %s is listed twice", key)
		}
		seen[key] = true
		perCat[c.category]++
	}
	for _, cat := range badInputCategories {
		if perCat[cat] == 0 {
			t.Fatalf("no %s case", cat)
		}
	}
	checkBaseInputsAreValid(t)

	got := map[string]map[string]string{}
	r := &badInputRunner{}
	runCases := func(match func(badInput) bool) {
		for _, c := range cases {
			if !match(c) {
				continue
			}
			t.Run(c.category+"/"+c.name, func(t *testing.T) {
				if got[c.category] == nil {
					got[c.category] = map[string]string{}
				}
				got[c.category][c.name] = r.run(t, c)
			})
		}
	}
	isFile := func(c badInput) bool {
		return c.category == catPlaybook || c.category == catConfig || c.category == catPolicy
	}
	runCases(isFile)
	if testing.Short() {
		compareBadInputGoldens(t, cases, got, []string{catPlaybook, catConfig, catPolicy})
		t.Skip("the HTTP cases start the embedded Temporal server")
	}

	// One riposte dev for every HTTP case, with Slack on the fake.
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.SetChannels("CSECOPS")
	t.Setenv("SLACK_BOT_TOKEN", slackfake.BotToken)
	t.Setenv("SLACK_TEAM_ID", slackfake.TeamID)
	t.Setenv("SLACK_APP_ID", slackfake.AppID)
	t.Setenv("SLACK_API_URL", fake.URL())
	t.Setenv("SLACK_SIGNING_SECRET", badInputSlackSecret)
	t.Setenv("SLACK_APP_TOKEN", "")
	t.Setenv("RIPOSTE_APPROVAL_CHANNEL", "CSECOPS")
	h := startDevForTest(t, t.TempDir())
	t.Cleanup(h.sys.Close)
	tc, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: h.sys.Server.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	r.h, r.temporal = h, tc
	inPhase := func(p int) func(badInput) bool {
		return func(c badInput) bool { return !isFile(c) && c.phase == p }
	}

	// Phase 1: every HTTP case that needs no run.
	runCases(inPhase(phaseNoRun))

	// Nothing started: no run of any workflow type, no Slack message.
	// Lists read the visibility store, which Temporal updates after a
	// run's history (eventually consistent: milliseconds on the dev
	// server, about a second on Elasticsearch): give a run that a bad
	// request started wrongly ample time to show.
	time.Sleep(2 * time.Second)
	if runs := r.apiRuns(t); len(runs) != 0 {
		t.Fatalf("bad requests started %d run(s): %+v", len(runs), runs)
	}
	if ids := r.allWorkflows(t); len(ids) != 0 {
		t.Fatalf("bad requests started workflows: %v", ids)
	}
	if msgs := fake.Messages(); len(msgs) != 0 {
		t.Fatalf("bad requests posted %d Slack message(s)", len(msgs))
	}

	// Nothing wedged: a good detection after all the bad ones starts
	// exactly one run (e2e-gated, which waits for an approval).
	code, resp := h.submit(detectionJSON("good-1", 2, `,"unmapped":{"gate":true}`))
	if code != http.StatusAccepted || resp.Started != 1 || resp.Deduplicated != 0 || len(resp.Detections) != 1 || len(resp.Detections[0].Matched) != 1 {
		t.Fatalf("good detection: %d %+v", code, resp)
	}
	m := resp.Detections[0].Matched[0]
	if m.Playbook != "e2e-gated" || m.Mode != "live" {
		t.Fatalf("good detection matched %+v", m)
	}
	r.runID = m.WorkflowID
	r.waitGate(t, "approve", workflows.GatePending)
	r.waitWorkflows(t, []string{m.WorkflowID})
	if runs := r.apiRuns(t); len(runs) != 1 || runs[0].WorkflowID != m.WorkflowID || runs[0].Playbook != "e2e-gated" {
		t.Fatalf("after the good detection: runs %+v", runs)
	}

	// Phase 2: the cases that need a waiting run refuse, and change nothing.
	runCases(inPhase(phaseRunWaiting))
	r.waitGate(t, "approve", workflows.GatePending)
	if ids := r.allWorkflows(t); len(ids) != 1 || ids[0] != m.WorkflowID {
		t.Fatalf("after the cases that need a run: workflows %v, want only %s", ids, m.WorkflowID)
	}

	// Phase 3: a real approver denies; the run ends; late requests refuse.
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(m.WorkflowID)+"/approvals", h.tokenFor("URECORDER"),
		`{"step": "approve", "decision": "deny", "user": "URECORDER", "reason": "not this host"}`)
	if code != http.StatusOK {
		t.Fatalf("deny: %d %s", code, b)
	}
	if d := h.waitRun(m.WorkflowID, time.Minute); d.Status != workflows.RunSucceeded && d.Status != workflows.RunFailed {
		t.Fatalf("run after the denial: %+v", d)
	}
	runCases(inPhase(phaseRunEnded))
	if ids := r.allWorkflows(t); len(ids) != 1 || ids[0] != m.WorkflowID {
		t.Fatalf("at the end: workflows %v, want only %s", ids, m.WorkflowID)
	}

	compareBadInputGoldens(t, cases, got, badInputCategories)
}

// compareBadInputGoldens compares (or, with -update, rewrites) the golden
// files of the categories.
func compareBadInputGoldens(t *testing.T, cases []badInput, got map[string]map[string]string, cats []string) {
	t.Helper()
	for _, cat := range cats {
		path := filepath.Join("testdata", "badinput", cat+".golden")
		var want map[string]string
		if b, err := os.ReadFile(path); err == nil {
			want = parseGolden(string(b))
		} else if !*update {
			t.Errorf("%v (run go test ./test/e2e -run TestBadInputCatalogue -update to create it)", err)
			continue
		}
		var out strings.Builder
		for _, c := range cases {
			if c.category != cat {
				continue
			}
			res, ran := got[cat][c.name]
			if !ran {
				t.Errorf("%s/%s did not run", cat, c.name)
				continue
			}
			section := formatCase(c, res)
			if *update {
				out.WriteString(section)
				continue
			}
			w, ok := want[c.name]
			if !ok {
				t.Errorf("%s: no section %q (run with -update)", path, c.name)
			} else if w != section {
				t.Errorf("%s/%s: the user sees something else than %s says\n--- got\n%s--- want\n%s", cat, c.name, path, section, w)
			}
			delete(want, c.name)
		}
		if *update {
			if t.Failed() {
				t.Errorf("not rewriting %s: the test failed", path)
				continue
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			header := fmt.Sprintf("# Bad %s input and the exact error the user sees.\n# Generated by TestBadInputCatalogue -update; review every change.\n\n", cat)
			if err := os.WriteFile(path, []byte(header+out.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for name := range want {
			t.Errorf("%s: section %q has no case (run with -update)", path, name)
		}
	}
}

// checkBaseInputsAreValid makes sure each case fails for the one mistake it
// makes: the inputs they edit are valid.
func checkBaseInputsAreValid(t *testing.T) {
	t.Helper()
	if _, diags := playbook.LoadBytes("playbooks/contain-host.yaml", []byte(basePlaybook), activities.Catalog()); len(diags) > 0 {
		t.Fatalf("basePlaybook is invalid:\n%v", diags)
	}
	if _, diags := config.ParseConnections("riposte.yaml", []byte(baseConnections), badInputConnOptions(badInputEnv)); len(diags) > 0 {
		t.Fatalf("baseConnections is invalid:\n%v", diags)
	}
	if _, err := policy.Parse("policy.yaml", []byte(basePolicy)); err != nil {
		t.Fatalf("basePolicy is invalid: %v", err)
	}
}

func badInputConnOptions(env map[string]string) config.ConnectionsOptions {
	return config.ConnectionsOptions{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Stat:      func(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist },
	}
}

// badInputRunner feeds cases to Riposte; h and temporal are set once
// riposte dev runs.
type badInputRunner struct {
	h        *devHarness
	temporal client.Client
	runID    string // the good detection's run, for the later phases
}

// run feeds one case to Riposte and returns what the user sees.
func (r *badInputRunner) run(t *testing.T, c badInput) string {
	switch c.category {
	case catPlaybook:
		file := "playbooks/" + c.name + ".yaml"
		comp, diags := playbook.LoadBytes(file, []byte(c.input), activities.Catalog())
		if comp != nil || len(diags) == 0 {
			t.Errorf("the playbook is valid")
		}
		return diags.Error() + "\n"
	case catConfig:
		_, diags := config.ParseConnections("riposte.yaml", []byte(c.input), badInputConnOptions(c.env))
		if diags.Err() == nil {
			t.Errorf("riposte.yaml has no error")
		}
		return diags.Error() + "\n"
	case catPolicy:
		p, err := policy.Parse("policy.yaml", []byte(c.input))
		if err == nil {
			t.Errorf("policy.yaml is valid: %+v", p)
			return "\n"
		}
		return err.Error() + "\n"
	}
	code, header, body := r.send(t, c)
	if c.repeat {
		code, header, body = r.send(t, c)
	}
	if code < 400 {
		t.Errorf("status %d: a bad request must be refused", code)
	}
	return r.formatResponse(t, code, header, body)
}

func (r *badInputRunner) send(t *testing.T, c badInput) (int, http.Header, []byte) {
	t.Helper()
	path := strings.ReplaceAll(c.path, "{run}", url.PathEscape(r.runID))
	var body io.Reader = strings.NewReader(c.input)
	if c.chunked {
		body = io.MultiReader(strings.NewReader(c.input)) // no length: sent chunked
	}
	req, err := http.NewRequest(c.method, r.h.baseURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	switch c.auth {
	case "":
		if c.category != catSlack {
			tok := r.h.token
			// A decision is taken with the deciding person's own token
			// (the shared token decides as nobody).
			var body struct{ User string }
			if c.method == "POST" && json.Unmarshal([]byte(c.input), &body) == nil && body.User != "" {
				tok = r.h.tokenFor(body.User)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	case "none":
	default:
		req.Header.Set("Authorization", c.auth)
	}
	if c.category == catSlack {
		now := time.Now()
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		switch c.slack {
		case slackSigned:
			req.Header.Set("X-Slack-Request-Timestamp", fmt.Sprint(now.Unix()))
			req.Header.Set("X-Slack-Signature", slackfake.Sign(badInputSlackSecret, now, []byte(c.input)))
		case slackWrongSecret:
			req.Header.Set("X-Slack-Request-Timestamp", fmt.Sprint(now.Unix()))
			req.Header.Set("X-Slack-Signature", slackfake.Sign("another-apps-secret", now, []byte(c.input)))
		case slackStale:
			old := now.Add(-6 * time.Minute)
			req.Header.Set("X-Slack-Request-Timestamp", fmt.Sprint(old.Unix()))
			req.Header.Set("X-Slack-Signature", slackfake.Sign(badInputSlackSecret, old, []byte(c.input)))
		case slackNotHex:
			req.Header.Set("X-Slack-Request-Timestamp", fmt.Sprint(now.Unix()))
			req.Header.Set("X-Slack-Signature", "v0=not-hex")
		case slackUnsigned:
		default:
			t.Fatalf("unknown slack signing %q", c.slack)
		}
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if c.chunked && req.ContentLength != 0 {
		t.Errorf("the body has a length (%d): it would not be sent chunked", req.ContentLength)
	}
	return resp.StatusCode, resp.Header, b
}

// volatile parts of answers: ports, run ids, temp dirs.
var (
	portRe = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	uuidRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
)

func (r *badInputRunner) normalise(s string) string {
	s = strings.ReplaceAll(s, r.h.dir, "<data-dir>")
	s = strings.ReplaceAll(s, r.h.token, "<token>")
	s = portRe.ReplaceAllString(s, "127.0.0.1:<port>")
	return uuidRe.ReplaceAllString(s, "<uuid>")
}

// formatResponse renders an answer as the user gets it: status, the
// headers that matter, and the whole body (JSON indented; the raw body
// must be exactly one JSON document).
func (r *badInputRunner) formatResponse(t *testing.T, code int, header http.Header, body []byte) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d %s\n", code, http.StatusText(code))
	for _, k := range []string{"Content-Type", "WWW-Authenticate", "Allow", "Retry-After"} {
		if v := header.Get(k); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	if ct := header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q: errors are application/problem+json", ct)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, bytes.TrimSuffix(body, []byte("\n")), "", "  "); err != nil {
		t.Errorf("the body is not one JSON document: %v", err)
		b.Write(body)
	} else {
		b.Write(pretty.Bytes())
		b.WriteByte('\n')
		var p struct {
			Type   *string
			Title  *string
			Status *int
			Detail *string
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Type == nil || p.Title == nil || p.Status == nil || *p.Status != code {
			t.Errorf("not a problem document for status %d: %s", code, body)
		}
		if p.Detail == nil || *p.Detail == "" {
			t.Errorf("the problem has no detail: a user needs to know what is wrong")
		}
	}
	for _, leak := range []string{"goroutine ", ".go:", r.h.token} {
		if strings.Contains(string(body), leak) {
			t.Errorf("the answer leaks %q", leak)
		}
	}
	return r.normalise(b.String())
}

// apiRuns lists the runs as GET /v1/runs shows them.
func (r *badInputRunner) apiRuns(t *testing.T) []api.RunSummary {
	t.Helper()
	code, b := r.h.do("GET", "/v1/runs?limit=1000", r.h.token, "")
	var list struct {
		Runs []api.RunSummary `json:"runs"`
	}
	if code != 200 || json.Unmarshal(b, &list) != nil || list.Runs == nil {
		t.Fatalf("GET /v1/runs: %d %s", code, b)
	}
	return list.Runs
}

// allWorkflows lists every workflow execution in the namespace, of any
// type (runs, rollbacks, the guard), straight from Temporal.
func (r *badInputRunner) allWorkflows(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := r.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: r.h.sys.Server.Namespace(), PageSize: 1000})
	if err != nil {
		t.Fatalf("listing workflows: %v", err)
	}
	var ids []string
	for _, e := range resp.GetExecutions() {
		ids = append(ids, e.GetExecution().GetWorkflowId())
	}
	return ids
}

// waitWorkflows waits until Temporal's visibility lists exactly want.
func (r *badInputRunner) waitWorkflows(t *testing.T, want []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ids := r.allWorkflows(t)
		if strings.Join(ids, ",") == strings.Join(want, ",") {
			return
		}
		if len(ids) > len(want) || time.Now().After(deadline) {
			t.Fatalf("workflows %v, want %v", ids, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitGate waits until the run's gate on step is in state.
func (r *badInputRunner) waitGate(t *testing.T, step, state string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for {
		code, b := r.h.do("GET", "/v1/runs/"+url.PathEscape(r.runID), r.h.token, "")
		var d api.RunDetail
		if code == 200 && json.Unmarshal(b, &d) == nil {
			for _, st := range d.Steps {
				if st.ID == step && st.Gate != nil {
					if last = st.Gate.State; last == state {
						return
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gate %s of %s is %q, want %q (last answer %d %s)", step, r.runID, last, state, code, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// formatCase renders one golden section: the input and what the user sees.
func formatCase(c badInput, out string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n", c.name)
	switch c.category {
	case catPlaybook:
		fmt.Fprintf(&b, "--- input: playbooks/%s.yaml\n", c.name)
	case catConfig:
		keys := make([]string, 0, len(c.env))
		for k := range c.env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "--- input: riposte.yaml (env: %s set)\n", strings.Join(keys, ", "))
	case catPolicy:
		b.WriteString("--- input: policy.yaml\n")
	default:
		fmt.Fprintf(&b, "--- input: %s %s", c.method, c.path)
		var notes []string
		switch c.auth {
		case "":
			if c.category != catSlack {
				notes = append(notes, "Authorization: Bearer <token>")
			}
		case "none":
			notes = append(notes, "no Authorization")
		default:
			notes = append(notes, "Authorization: "+c.auth)
		}
		if c.chunked {
			notes = append(notes, "chunked, no Content-Length")
		}
		if c.slack != "" {
			notes = append(notes, map[string]string{
				slackSigned:      "signed",
				slackWrongSecret: "signed with another app's secret",
				slackStale:       "signed 6 minutes ago",
				slackUnsigned:    "no signature headers",
				slackNotHex:      "X-Slack-Signature: v0=not-hex",
			}[c.slack])
		}
		if c.contentType != "" {
			notes = append(notes, "Content-Type: "+c.contentType)
		}
		if c.repeat {
			notes = append(notes, "sent twice; the second answer")
		}
		switch c.phase {
		case phaseRunWaiting:
			notes = append(notes, "{run}: the good detection's run, waiting at gate approve")
		case phaseRunEnded:
			notes = append(notes, "{run}: the good detection's run, ended after a denial")
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, "; "))
		}
		b.WriteString("\n")
	}
	in := c.input
	if form, err := url.ParseQuery(in); c.category == catSlack && c.contentType == "" && err == nil && form.Has("payload") {
		in = "payload=" + form.Get("payload") + "  (form-encoded)"
	}
	if len(in) > 600 {
		in = fmt.Sprintf("%s… (%d bytes in all)", in[:300], len(in))
	}
	if in != "" {
		b.WriteString(in)
		if !strings.HasSuffix(in, "\n") {
			b.WriteString("\n")
		}
	}
	b.WriteString("--- user sees\n")
	b.WriteString(out)
	b.WriteString("\n")
	return b.String()
}

// parseGolden splits a golden file into its "### name" sections.
func parseGolden(s string) map[string]string {
	out := map[string]string{}
	var name string
	var cur strings.Builder
	flush := func() {
		if name != "" {
			out[name] = cur.String()
		}
	}
	for _, line := range strings.SplitAfter(s, "\n") {
		if n, ok := strings.CutPrefix(line, "### "); ok {
			flush()
			name = strings.TrimSuffix(n, "\n")
			cur.Reset()
		}
		if name != "" {
			cur.WriteString(line)
		}
	}
	flush()
	return out
}
