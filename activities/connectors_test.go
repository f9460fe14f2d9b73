package activities_test

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// harness runs actions through the real Register path against a fresh lab.
type harness = connectortest.Harness

func newHarness(t *testing.T) *harness { return connectortest.New(t) }

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	return connectortest.AppError(t, err)
}

func wantNonRetryable(t *testing.T, err error, typ string, contains ...string) {
	t.Helper()
	ae := appError(t, err)
	if !ae.NonRetryable() {
		t.Errorf("error should be non-retryable: %v", err)
	}
	if ae.Type() != typ {
		t.Errorf("error type = %s, want %s (%v)", ae.Type(), typ, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err.Error(), s)
		}
	}
}

func wantRetryable(t *testing.T, err error, typ string, delayMin, delayMax time.Duration) {
	t.Helper()
	ae := appError(t, err)
	if ae.NonRetryable() {
		t.Errorf("error should be retryable: %v", err)
	}
	if ae.Type() != typ {
		t.Errorf("error type = %s, want %s (%v)", ae.Type(), typ, err)
	}
	if d := ae.NextRetryDelay(); d < delayMin || d > delayMax {
		t.Errorf("NextRetryDelay = %s, want %s..%s (%v)", d, delayMin, delayMax, err)
	}
}

// containCase describes a contain/undo pair for the shared tests.
type containCase struct {
	name           string
	vendor         string // lab vendor
	conn           string // connection name
	secret         string // secret field to break
	action, undo   string
	params         map[string]any
	missing        map[string]any // a target the vendor does not know; nil = n/a
	op, undoOp     string         // lab op names
	target         string         // lab call target
	minDelay, maxD time.Duration  // NextRetryDelay for a 429 asking 20s
}

var containCases = []containCase{
	{name: "crowdstrike", vendor: lab.CrowdStrike, conn: "crowdstrike", secret: "client_secret",
		action: "crowdstrike.contain_host", undo: "crowdstrike.lift_containment",
		params: map[string]any{"hostname": "fin-ws-042"}, missing: map[string]any{"hostname": "ghost-01"},
		op: "contain", undoOp: "lift_containment", target: "fin-ws-042", minDelay: 17 * time.Second, maxD: 21 * time.Second},
	{name: "defender", vendor: lab.Defender, conn: "defender", secret: "client_secret",
		action: "defender.isolate_machine", undo: "defender.unisolate_machine",
		params: map[string]any{"hostname": "fin-ws-042", "isolation_type": "Selective"}, missing: map[string]any{"hostname": "ghost-01"},
		op: "isolate", undoOp: "unisolate", target: "fin-ws-042", minDelay: 20 * time.Second, maxD: 20 * time.Second},
	{name: "sentinelone", vendor: lab.SentinelOne, conn: "sentinelone", secret: "api_token",
		action: "sentinelone.disconnect_agent", undo: "sentinelone.reconnect_agent",
		params: map[string]any{"hostname": "web-prod-01"}, missing: map[string]any{"hostname": "ghost-01"},
		op: "disconnect", undoOp: "connect", target: "web-prod-01", minDelay: 20 * time.Second, maxD: 20 * time.Second},
	{name: "okta", vendor: lab.Okta, conn: "okta", secret: "api_token",
		action: "okta.suspend_user", undo: "okta.unsuspend_user",
		params: map[string]any{"user": "jdoe@example.com"}, missing: map[string]any{"user": "nobody@example.com"},
		op: "suspend", undoOp: "unsuspend", target: "jdoe@example.com", minDelay: 17 * time.Second, maxD: 21 * time.Second},
	{name: "entra", vendor: lab.Entra, conn: "entra", secret: "client_secret",
		action: "entra.disable_user", undo: "entra.enable_user",
		params: map[string]any{"user": "ceo@example.com"}, missing: map[string]any{"user": "nobody@example.com"},
		op: "disable", undoOp: "enable", target: "ceo@example.com", minDelay: 20 * time.Second, maxD: 20 * time.Second},
	{name: "panos", vendor: lab.PANOS, conn: "panos", secret: "api_key",
		action: "panos.block_ip", undo: "panos.unblock_ip",
		params: map[string]any{"ip": "203.0.113.77"},
		op:     "register", undoOp: "unregister", target: "203.0.113.77", minDelay: 30 * time.Second, maxD: 30 * time.Second}, // no header: default
}

func TestContainConnectors(t *testing.T) {
	for _, tc := range containCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("contain, repeat, undo, repeat", func(t *testing.T) {
				h := newHarness(t)
				out := h.MustRun(tc.action, tc.params, "idem-1")
				if out["already"] != false || out["connection"] != tc.conn {
					t.Errorf("first call output = %v", out)
				}
				if n := h.Lab.Changes(tc.vendor, tc.op, tc.target); n != 1 {
					t.Fatalf("state changes after first call = %d, want 1", n)
				}
				calls := h.Lab.CallsFor(tc.vendor, tc.op, tc.target)
				if calls[0].IdempotencyKey != "idem-1" {
					t.Errorf("vendor saw idempotency key %q, want idem-1", calls[0].IdempotencyKey)
				}
				// A replay/retry of the same step: state checked first,
				// nothing sent.
				out = h.MustRun(tc.action, tc.params, "idem-1")
				if out["already"] != true {
					t.Errorf("repeat output = %v, want already=true", out)
				}
				if n := len(h.Lab.CallsFor(tc.vendor, tc.op, tc.target)); n != 1 {
					t.Errorf("the repeat reached the vendor: %d %s calls", n, tc.op)
				}
				out = h.MustRun(tc.undo, tc.params, "idem-2")
				if out["already"] != false {
					t.Errorf("undo output = %v", out)
				}
				if n := h.Lab.Changes(tc.vendor, tc.undoOp, tc.target); n != 1 {
					t.Fatalf("undo state changes = %d, want 1", n)
				}
				out = h.MustRun(tc.undo, tc.params, "idem-2")
				if out["already"] != true {
					t.Errorf("undo repeat output = %v, want already=true", out)
				}
				if n := len(h.Lab.CallsFor(tc.vendor, tc.undoOp, tc.target)); n != 1 {
					t.Errorf("the undo repeat reached the vendor: %d calls", n)
				}
			})
			t.Run("auth failure", func(t *testing.T) {
				h := newHarness(t)
				h.SetSecret(tc.conn, tc.secret, "wrong-secret-value")
				_, err := h.Run(tc.action, tc.params, "k")
				wantNonRetryable(t, err, "AuthFailed", `check the credentials of connection "`+tc.conn+`"`)
				if strings.Contains(err.Error(), "wrong-secret-value") {
					t.Errorf("secret in error: %v", err)
				}
				if n := len(h.Lab.CallsFor(tc.vendor, tc.op, "")); n != 0 {
					t.Errorf("%d state-changing calls despite bad credentials", n)
				}
			})
			if tc.missing != nil {
				t.Run("unknown target", func(t *testing.T) {
					h := newHarness(t)
					_, err := h.Run(tc.action, tc.missing, "k")
					wantNonRetryable(t, err, "NotFound", "not found", `connection "`+tc.conn+`"`)
				})
			}
			t.Run("rate limited", func(t *testing.T) {
				h := newHarness(t)
				h.Lab.InjectFault(tc.vendor, lab.Fault{Status: 429, RetryAfter: 20 * time.Second})
				_, err := h.Run(tc.action, tc.params, "k")
				wantRetryable(t, err, "RateLimited", tc.minDelay, tc.maxD)
				// The fault is spent: the retry works.
				h.MustRun(tc.action, tc.params, "k")
				if n := h.Lab.Changes(tc.vendor, tc.op, tc.target); n != 1 {
					t.Errorf("changes = %d, want 1", n)
				}
			})
			t.Run("server error", func(t *testing.T) {
				h := newHarness(t)
				h.Lab.InjectFault(tc.vendor, lab.Fault{Status: 503, RetryAfter: 7 * time.Second})
				_, err := h.Run(tc.action, tc.params, "k")
				ae := appError(t, err)
				if ae.NonRetryable() || ae.Type() != "VendorUnavailable" {
					t.Errorf("5xx: %v (type %s, non-retryable %v)", err, ae.Type(), ae.NonRetryable())
				}
			})
			// Someone else contained it before the step (an analyst, another
			// run): the step finds it so on its first attempt and says the
			// containment was there before it (catalog.OutputPreexisting),
			// so the run does not lift it later.
			t.Run("already in place before the step", func(t *testing.T) {
				h := newHarness(t)
				if out := h.MustRun(tc.action, tc.params, "k-other"); out[catalog.OutputPreexisting] != nil {
					t.Errorf("first containment: %v", out)
				}
				out := h.MustRun(tc.action, tc.params, "k")
				if out["already"] != true || out[catalog.OutputPreexisting] != true {
					t.Errorf("a second step's output = %v, want already and preexisting", out)
				}
			})
			t.Run("lost response, Temporal retries", func(t *testing.T) {
				h := newHarness(t)
				h.Lab.InjectFault(tc.vendor, lab.Fault{Status: 502, Lost: true})
				out := runWithRetries(t, h, tc.action, tc.params)
				if out["already"] != true {
					t.Errorf("retry output = %v, want already=true", out)
				}
				// An earlier attempt of this step made it: the run holds
				// and rolls it back like any other.
				if out[catalog.OutputPreexisting] != nil {
					t.Errorf("retry output = %v: the step's own first attempt contained it, not someone else", out)
				}
				if n := h.Lab.Changes(tc.vendor, tc.op, tc.target); n != 1 {
					t.Errorf("state changes = %d, want exactly 1", n)
				}
				if n := len(h.Lab.CallsFor(tc.vendor, tc.op, tc.target)); n != 1 {
					t.Errorf("containment reached the vendor %d times for one step", n)
				}
			})
		})
	}
}

// runWithRetries runs one action from a workflow with a retry policy, so
// Temporal retries it like in production (same ScheduledTime, new attempt).
func runWithRetries(t *testing.T, h *harness, action string, params map[string]any) map[string]any {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	activities.Register(env, h.Env)
	wf := func(ctx workflow.Context, call activities.Call) (map[string]any, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 4},
		})
		var out map[string]any
		err := workflow.ExecuteActivity(ctx, call.Action, call).Get(ctx, &out)
		return out, err
	}
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "run-action"})
	env.ExecuteWorkflow("run-action", h.Call(action, params, "wf-test/step/0"))
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var out map[string]any
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCrowdStrikeTokenCache(t *testing.T) {
	h := newHarness(t)
	tokenCalls := func() int {
		n := 0
		for _, r := range h.Lab.Requests(lab.CrowdStrike) {
			if strings.HasSuffix(r.Path, "/oauth2/token") {
				n++
			}
		}
		return n
	}
	h.MustRun("crowdstrike.contain_host", map[string]any{"hostname": "fin-ws-042"}, "a")
	h.MustRun("crowdstrike.contain_host", map[string]any{"hostname": "web-prod-01"}, "b")
	if n := tokenCalls(); n != 1 {
		t.Fatalf("token requests = %d, want 1 (cached)", n)
	}
	// Expired token: one 401, one refresh, success.
	h.Lab.ExpireTokens()
	h.MustRun("crowdstrike.contain_host", map[string]any{"hostname": "db-prod-02"}, "c")
	if n := tokenCalls(); n != 2 {
		t.Fatalf("token requests = %d, want 2 after expiry", n)
	}
	// A 401 once is retried with a fresh token; twice is an auth failure.
	h.Lab.InjectFault(lab.CrowdStrike, lab.Fault{Status: 401, Times: 1})
	h.MustRun("crowdstrike.lift_containment", map[string]any{"hostname": "db-prod-02"}, "d")
	h.Lab.InjectFault(lab.CrowdStrike, lab.Fault{Status: 401, Times: 2})
	_, err := h.Run("crowdstrike.lift_containment", map[string]any{"hostname": "fin-ws-042"}, "e")
	wantNonRetryable(t, err, "AuthFailed", `connection "crowdstrike"`)
}

func TestOktaSessionsAndStates(t *testing.T) {
	h := newHarness(t)
	p := map[string]any{"user": "j.moreau"} // login short name, as in examples/credential-dumping.json
	out := h.MustRun("okta.clear_user_sessions", p, "s1")
	if out["login"] != "j.moreau@corp.example.com" {
		t.Errorf("output = %v", out)
	}
	h.MustRun("okta.clear_user_sessions", p, "s1")
	if n := h.Lab.Changes(lab.Okta, "clear_sessions", "j.moreau@corp.example.com"); n != 1 {
		t.Errorf("session clears that changed state = %d, want 1", n)
	}
	_, err := h.Run("okta.suspend_user", map[string]any{"user": "contractor@example.com"}, "s2")
	wantNonRetryable(t, err, "VendorRejected", "STAGED", "suspends only ACTIVE")
	// Unsuspending a user that is not suspended changes nothing.
	out = h.MustRun("okta.unsuspend_user", map[string]any{"user": "ceo@example.com"}, "s3")
	if out["already"] != true || len(h.Lab.CallsFor(lab.Okta, "unsuspend", "")) != 0 {
		t.Errorf("unsuspend of an active user: %v", out)
	}
}

func TestEntraRevokeSessions(t *testing.T) {
	h := newHarness(t)
	p := map[string]any{"user": "jdoe@example.com"}
	h.MustRun("entra.revoke_sessions", p, "r1")
	if n := h.Lab.Changes(lab.Entra, "revoke_sessions", "jdoe@example.com"); n != 1 {
		t.Fatalf("changes = %d", n)
	}
	// Retried after a lost answer: signInSessionsValidFromDateTime is later
	// than the step's scheduling, so nothing is sent again.
	h2 := newHarness(t)
	h2.Lab.InjectFault(lab.Entra, lab.Fault{Status: 502, Lost: true})
	out := runWithRetries(t, h2, "entra.revoke_sessions", p)
	if out["already"] != true {
		t.Errorf("output = %v", out)
	}
	if n := len(h2.Lab.CallsFor(lab.Entra, "revoke_sessions", "")); n != 1 {
		t.Errorf("revocations sent = %d, want 1", n)
	}
}

func TestHTTPRequest(t *testing.T) {
	h := newHarness(t)
	out := h.MustRun("http.request", map[string]any{
		"connection": lab.EchoConnection, "method": "POST", "path": "/api/block",
		"query": map[string]any{"reason": "c2", "n": 2}, "headers": map[string]any{"X-Case": "42"},
		"body": map[string]any{"ip": "203.0.113.77"},
	}, "http-1")
	if out["status"] != float64(200) {
		t.Fatalf("output = %v", out)
	}
	echo := out["json"].(map[string]any)
	if echo["path"] != "/api/block" || !strings.Contains(echo["body"].(string), "203.0.113.77") {
		t.Errorf("echo = %v", echo)
	}
	headers := echo["headers"].(map[string]any)
	if headers["Idempotency-Key"] != "http-1" || headers["X-Case"] != "42" || headers["Content-Type"] != "application/json" {
		t.Errorf("headers = %v", headers)
	}
	if q := echo["query"].(map[string]any); q["n"].([]any)[0] != "2" {
		t.Errorf("query = %v", q)
	}
	if h.Lab.Changes(lab.HTTPEcho, "POST", "/api/block") != 1 {
		t.Error("POST not recorded")
	}

	for _, bad := range []string{"https://evil.example.com/x", "//evil.example.com/x", "../admin", "/a/../../b", "/%2e%2e/b", "/a%252e%252e/b", "/x?y=1", "/x#f", `\evil`} {
		_, err := h.Run("http.request", map[string]any{"connection": lab.EchoConnection, "path": bad}, "k")
		wantNonRetryable(t, err, "InvalidParams", "relative to the connection's base_url")
	}
	_, err := h.Run("http.request", map[string]any{"path": "/x"}, "k")
	wantNonRetryable(t, err, "InvalidParams", "needs the connection param")
	_, err = h.Run("http.request", map[string]any{"connection": "jira", "path": "/x"}, "k")
	wantNonRetryable(t, err, "NoConnection", "has type jira")
	_, err = h.Run("http.request", map[string]any{"connection": "nope", "path": "/x"}, "k")
	wantNonRetryable(t, err, "NoConnection", `connection "nope" is not configured`)
	_, err = h.Run("http.request", map[string]any{"connection": lab.EchoConnection, "path": "/x", "headers": map[string]any{"Authorization": "x"}}, "k")
	wantNonRetryable(t, err, "InvalidParams", "cannot be set")

	_, err = h.Run("http.request", map[string]any{"connection": lab.EchoConnection, "path": "/status/404"}, "k")
	wantNonRetryable(t, err, "NotFound", `connection "lab-echo"`)
	_, err = h.Run("http.request", map[string]any{"connection": lab.EchoConnection, "path": "/status/422"}, "k")
	wantNonRetryable(t, err, "VendorRejected", "HTTP 422")
	h.Lab.InjectFault(lab.HTTPEcho, lab.Fault{Status: 429, RetryAfter: 20 * time.Second})
	_, err = h.Run("http.request", map[string]any{"connection": lab.EchoConnection, "path": "/x"}, "k")
	wantRetryable(t, err, "RateLimited", 20*time.Second, 20*time.Second)
	h.Lab.InjectFault(lab.HTTPEcho, lab.Fault{Status: 500})
	_, err = h.Run("http.request", map[string]any{"connection": lab.EchoConnection, "path": "/x"}, "k")
	wantRetryable(t, err, "VendorUnavailable", 0, 0)
	h.SetSecret(lab.EchoConnection, "token", "nope-token")
	_, err = h.Run("http.request", map[string]any{"connection": lab.EchoConnection, "path": "/x"}, "k")
	wantNonRetryable(t, err, "AuthFailed", `check the credentials of connection "lab-echo"`)
}

func TestJira(t *testing.T) {
	h := newHarness(t)
	p := map[string]any{
		"summary":     "Credential dumping on fin-ws-042\nsecond line",
		"description": "LSASS read by rundll32.\n\n<script>alert(1)</script> *not bold* {code}",
		"labels":      []any{"riposte", "credential access"},
	}
	out := h.MustRun("jira.create_issue", p, "jira-1")
	if out["key"] != "SEC-1" || out["already"] != false || !strings.HasSuffix(out["url"].(string), "/browse/SEC-1") {
		t.Fatalf("output = %v", out)
	}
	out = h.MustRun("jira.create_issue", p, "jira-1")
	if out["key"] != "SEC-1" || out["already"] != true {
		t.Fatalf("repeat output = %v", out)
	}
	if n := h.Lab.Changes(lab.Jira, "create_issue", ""); n != 1 {
		t.Fatalf("issues created = %d, want 1", n)
	}
	st := h.Lab.State()
	tk := st.Tickets[0]
	if tk.Summary != "Credential dumping on fin-ws-042 second line" || !strings.Contains(tk.Description, "<script>alert(1)</script> *not bold*") {
		t.Errorf("ticket = %+v", tk)
	}
	if !containsLabel(tk.Labels, "credential-access") || !containsLabel(tk.Labels, out["label"].(string)) {
		t.Errorf("labels = %v", tk.Labels)
	}

	c := map[string]any{"issue": "SEC-1", "body": "Host isolated.\nBy Riposte."}
	out = h.MustRun("jira.add_comment", c, "cm-1")
	if out["already"] != false || out["id"] == "" {
		t.Fatalf("comment output = %v", out)
	}
	out = h.MustRun("jira.add_comment", c, "cm-1")
	if out["already"] != true {
		t.Fatalf("comment repeat output = %v", out)
	}
	h.MustRun("jira.add_comment", c, "cm-2") // another step: a second comment
	if n := h.Lab.Changes(lab.Jira, "add_comment", "SEC-1"); n != 2 {
		t.Errorf("comments = %d, want 2", n)
	}

	_, err := h.Run("jira.add_comment", map[string]any{"issue": "SEC-999", "body": "x"}, "k")
	wantNonRetryable(t, err, "NotFound", "issue SEC-999 not found")
	_, err = h.Run("jira.create_issue", map[string]any{"summary": "x", "project": "NOPE"}, "k2")
	wantNonRetryable(t, err, "VendorRejected", "valid project is required")
	_, err = h.Run("jira.create_issue", map[string]any{"summary": "x", "issue_type": "Epicc"}, "k3")
	wantNonRetryable(t, err, "VendorRejected", "issuetype")
	h.Lab.InjectFault(lab.Jira, lab.Fault{Status: 429, RetryAfter: 20 * time.Second})
	_, err = h.Run("jira.create_issue", map[string]any{"summary": "x"}, "k4")
	wantRetryable(t, err, "RateLimited", 20*time.Second, 20*time.Second)
	h.Lab.InjectFault(lab.Jira, lab.Fault{Status: 500})
	_, err = h.Run("jira.create_issue", map[string]any{"summary": "x"}, "k4")
	wantRetryable(t, err, "VendorUnavailable", 0, 0)
	h.SetSecret("jira", "api_token", "bad-jira-token")
	_, err = h.Run("jira.create_issue", map[string]any{"summary": "x"}, "k5")
	wantNonRetryable(t, err, "AuthFailed", `check the credentials of connection "jira"`)
}

func containsLabel(labels []string, l string) bool {
	for _, x := range labels {
		if x == l {
			return true
		}
	}
	return false
}

func TestJiraLostResponse(t *testing.T) {
	h := newHarness(t)
	h.Lab.InjectFault(lab.Jira, lab.Fault{Status: 502, Lost: true})
	out := runWithRetries(t, h, "jira.create_issue", map[string]any{"summary": "lost answer"})
	if out["already"] != true || out["key"] != "SEC-1" {
		t.Errorf("output = %v", out)
	}
	if n := h.Lab.Changes(lab.Jira, "create_issue", ""); n != 1 {
		t.Errorf("issues created = %d, want 1", n)
	}
}

func TestPagerDuty(t *testing.T) {
	h := newHarness(t)
	p := map[string]any{"summary": "Host fin-ws-042 contained", "source": "fin-ws-042", "severity": "critical", "details": map[string]any{"run": "x"}}
	out := h.MustRun("pagerduty.trigger", p, "pd-1")
	key := out["dedup_key"].(string)
	if !strings.HasPrefix(key, "riposte-") || out["status"] != "success" {
		t.Fatalf("output = %v", out)
	}
	out = h.MustRun("pagerduty.trigger", p, "pd-1")
	if out["dedup_key"] != key {
		t.Errorf("repeat used dedup key %v, want %s", out["dedup_key"], key)
	}
	if n := h.Lab.Changes(lab.PagerDuty, "trigger", ""); n != 1 {
		t.Errorf("alerts opened = %d, want 1", n)
	}
	if st := h.Lab.State(); len(st.Pages) != 1 || st.Pages[0].Events != 2 {
		t.Errorf("pages = %+v", st.Pages)
	}
	_, err := h.Run("pagerduty.trigger", map[string]any{"summary": "x", "severity": "sev1"}, "k")
	wantNonRetryable(t, err, "InvalidParams", "severity")
	h.Lab.InjectFault(lab.PagerDuty, lab.Fault{Status: 429})
	_, err = h.Run("pagerduty.trigger", p, "k")
	wantRetryable(t, err, "RateLimited", 30*time.Second, 30*time.Second)
	h.Lab.InjectFault(lab.PagerDuty, lab.Fault{Status: 502})
	_, err = h.Run("pagerduty.trigger", p, "k")
	wantRetryable(t, err, "VendorUnavailable", 0, 0)
	h.SetSecret("pagerduty", "routing_key", "bad0routing0key0000000000000000x")
	_, err = h.Run("pagerduty.trigger", p, "k")
	wantNonRetryable(t, err, "AuthFailed", `connection "pagerduty"`)
}

func TestVirusTotal(t *testing.T) {
	h := newHarness(t)
	out := h.MustRun("virustotal.file_report", map[string]any{"hash": lab.KnownBad.FileSHA256}, "")
	if out["found"] != true || out["malicious"] != float64(62) {
		t.Errorf("file = %v", out)
	}
	out = h.MustRun("virustotal.ip_report", map[string]any{"ip": lab.KnownBad.IP}, "")
	if out["malicious"] != float64(11) || out["reputation"] != float64(-35) {
		t.Errorf("ip = %v", out)
	}
	out = h.MustRun("virustotal.domain_report", map[string]any{"domain": lab.KnownBad.PhishDomain}, "")
	if out["malicious"] != float64(14) {
		t.Errorf("domain = %v", out)
	}
	out = h.MustRun("virustotal.domain_report", map[string]any{"domain": "never-seen.example.org"}, "")
	if out["found"] != false || out["malicious"] != float64(0) {
		t.Errorf("unknown domain = %v", out)
	}
	_, err := h.Run("virustotal.file_report", map[string]any{"hash": "xyz"}, "")
	wantNonRetryable(t, err, "InvalidParams", "not an MD5")
	h.Lab.InjectFault(lab.VirusTotal, lab.Fault{Status: 429})
	_, err = h.Run("virustotal.ip_report", map[string]any{"ip": "8.8.8.8"}, "")
	wantRetryable(t, err, "RateLimited", 30*time.Second, 30*time.Second)
	h.Lab.InjectFault(lab.VirusTotal, lab.Fault{Status: 503})
	_, err = h.Run("virustotal.ip_report", map[string]any{"ip": "8.8.8.8"}, "")
	wantRetryable(t, err, "VendorUnavailable", 0, 0)
	h.SetSecret("virustotal", "api_key", "bad-vt-key")
	_, err = h.Run("virustotal.ip_report", map[string]any{"ip": "8.8.8.8"}, "")
	wantNonRetryable(t, err, "AuthFailed", `check the credentials of connection "virustotal"`)
}

func TestAbuseIPDB(t *testing.T) {
	h := newHarness(t)
	out := h.MustRun("abuseipdb.check_ip", map[string]any{"ip": lab.KnownBad.IP}, "")
	if out["abuse_confidence_score"] != float64(100) || out["country_code"] != "NL" || out["total_reports"] != float64(57) {
		t.Errorf("bad ip = %v", out)
	}
	out = h.MustRun("abuseipdb.check_ip", map[string]any{"ip": "8.8.8.8", "max_age_days": 30}, "")
	if out["is_whitelisted"] != true || out["abuse_confidence_score"] != float64(0) {
		t.Errorf("8.8.8.8 = %v", out)
	}
	_, err := h.Run("abuseipdb.check_ip", map[string]any{"ip": "1.2.3.4", "max_age_days": 400}, "")
	wantNonRetryable(t, err, "InvalidParams", "1-365")
	h.Lab.InjectFault(lab.AbuseIPDB, lab.Fault{Status: 429, RetryAfter: 20 * time.Second})
	_, err = h.Run("abuseipdb.check_ip", map[string]any{"ip": "1.2.3.4"}, "")
	wantRetryable(t, err, "RateLimited", 20*time.Second, 20*time.Second)
	h.Lab.InjectFault(lab.AbuseIPDB, lab.Fault{Status: 500})
	_, err = h.Run("abuseipdb.check_ip", map[string]any{"ip": "1.2.3.4"}, "")
	wantRetryable(t, err, "VendorUnavailable", 0, 0)
	h.SetSecret("abuseipdb", "api_key", "bad-abuse-key")
	_, err = h.Run("abuseipdb.check_ip", map[string]any{"ip": "1.2.3.4"}, "")
	wantNonRetryable(t, err, "AuthFailed", "Authentication failed", `connection "abuseipdb"`)
}

func TestConnectionSelection(t *testing.T) {
	h := newHarness(t)
	// Named like the vendor: default. Renamed: the only one of its type.
	cs := h.Env.Connections["crowdstrike"]
	delete(h.Env.Connections, "crowdstrike")
	h.Env.Connections["cs-prod"] = cs
	out := h.MustRun("crowdstrike.contain_host", map[string]any{"hostname": "fin-ws-042"}, "a")
	if out["connection"] != "cs-prod" {
		t.Errorf("connection = %v", out["connection"])
	}
	// Two of a type and none named like it: ambiguous.
	h.Env.Connections["cs-lab"] = cs
	_, err := h.Run("crowdstrike.contain_host", map[string]any{"hostname": "fin-ws-042"}, "b")
	wantNonRetryable(t, err, "NoConnection", "cs-lab, cs-prod", "set the step's connection param")
	out = h.MustRun("crowdstrike.lift_containment", map[string]any{"hostname": "fin-ws-042", "connection": "cs-lab"}, "c")
	if out["connection"] != "cs-lab" {
		t.Errorf("connection = %v", out["connection"])
	}
	// None configured.
	h.Env.Connections = map[string]activities.Connection{}
	_, err = h.Run("okta.suspend_user", map[string]any{"user": "jdoe@example.com"}, "d")
	wantNonRetryable(t, err, "NoConnection", "no okta connection is configured")
	// An unset secret env var.
	h.Env.Connections["okta"] = activities.Connection{Type: "okta", BaseURL: h.Lab.URL() + "/okta",
		Secrets: map[string]activities.SecretRef{"api_token": {Env: "RIPOSTE_TEST_SURELY_UNSET"}}}
	_, err = h.Run("okta.suspend_user", map[string]any{"user": "jdoe@example.com"}, "e")
	wantNonRetryable(t, err, "SecretUnavailable", "env var RIPOSTE_TEST_SURELY_UNSET is not set", `connection "okta"`)
}

func TestDryRunSendsNothing(t *testing.T) {
	h := newHarness(t)
	for _, d := range activities.Definitions() {
		if d.Vendor == "core" || d.Risk == "read" {
			continue
		}
		call := h.Call(d.Name, map[string]any{"hostname": "fin-ws-042", "user": "jdoe@example.com", "ip": "203.0.113.77",
			"connection": map[string]string{"http": lab.EchoConnection}[d.Vendor], "path": "/x", "summary": "s", "issue": "SEC-1", "body": "b"}, "dry")
		call.DryRun = true
		v, err := h.Execute(d.Name, call)
		if err != nil {
			t.Fatalf("%s dry run: %v", d.Name, err)
		}
		var out map[string]any
		_ = v.Get(&out)
		if out["simulated"] != true {
			t.Errorf("%s dry run output = %v", d.Name, out)
		}
	}
	if n := len(h.Lab.Requests("")); n != 0 {
		t.Errorf("dry runs sent %d requests", n)
	}
}

func TestConnectorCatalog(t *testing.T) {
	cat := activities.Catalog() // panics if incoherent (undo names etc.)
	want := map[string]string{  // action -> risk/undo
		"crowdstrike.contain_host": "contain/crowdstrike.lift_containment", "crowdstrike.lift_containment": "contain/crowdstrike.contain_host",
		"defender.isolate_machine": "contain/defender.unisolate_machine", "defender.unisolate_machine": "contain/defender.isolate_machine",
		"sentinelone.disconnect_agent": "contain/sentinelone.reconnect_agent", "sentinelone.reconnect_agent": "contain/sentinelone.disconnect_agent",
		"okta.suspend_user": "contain/okta.unsuspend_user", "okta.unsuspend_user": "contain/okta.suspend_user", "okta.clear_user_sessions": "contain/core.noop",
		"entra.revoke_sessions": "contain/core.noop", "entra.disable_user": "contain/entra.enable_user", "entra.enable_user": "contain/entra.disable_user",
		"panos.block_ip": "contain/panos.unblock_ip", "panos.unblock_ip": "contain/panos.block_ip",
		"http.request":      "contain/core.noop",
		"jira.create_issue": "notify/", "jira.add_comment": "notify/", "pagerduty.trigger": "notify/",
		"virustotal.file_report": "read/", "virustotal.ip_report": "read/", "virustotal.domain_report": "read/", "abuseipdb.check_ip": "read/",
	}
	for name, ru := range want {
		a, ok := cat.Lookup(name)
		if !ok {
			t.Errorf("%s missing from the catalog", name)
			continue
		}
		if got := string(a.Risk) + "/" + a.Undo; got != ru {
			t.Errorf("%s: risk/undo = %s, want %s", name, got, ru)
		}
		if a.Vendor == "" || a.Description == "" || len(a.Outputs) == 0 {
			t.Errorf("%s: vendor, description and outputs are required", name)
		}
		p, ok := a.Param("connection")
		if !ok || p.Type != "string" {
			t.Errorf("%s has no connection param", name)
		}
		for _, p := range a.Params {
			if p.Description == "" {
				t.Errorf("%s: param %s has no description", name, p.Name)
			}
		}
		// Undo gets the same params: the pair must declare the same ones.
		if u, ok := cat.Lookup(a.Undo); ok && a.Undo != "core.noop" && strings.Join(u.ParamNames(), ",") != strings.Join(a.ParamNames(), ",") {
			t.Errorf("%s and its undo %s take different params", name, a.Undo)
		}
	}
	if _, ok := activities.LookupConnectionType("crowdstrike"); !ok {
		t.Error("no crowdstrike connection type")
	}
}
