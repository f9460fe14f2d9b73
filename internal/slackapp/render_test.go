package slackapp

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/riposte-dev/riposte/workflows"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	testOpened  = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	testExpires = testOpened.Add(4 * time.Hour)
	testClosed  = testOpened.Add(17 * time.Minute)
)

func intPtr(i int) *int { return &i }

// testRequest is a realistic approval request for a host isolation.
func testRequest() workflows.GateRequest {
	return workflows.GateRequest{
		WorkflowID: "det-7f3a9c-ransomware-response",
		RunID:      "0196a7c2-5b1e-7d4f-9a31-2c8e4b6f0d17",
		GateID:     "isolate",
		Playbook:   "ransomware-response",
		Version:    3,
		StepID:     "isolate",
		StepName:   "Isolate the host",
		Action:     "crowdstrike.contain_host",
		Risk:       "contain",
		Params: map[string]any{
			"device_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
			"hostname":  "fin-ws-042.corp.example",
			"comment":   "Riposte run det-7f3a9c",
			"notify":    true,
		},
		Users:     []string{"U024BE7LH", "U0G9QF9C6"},
		Groups:    []string{"S0614TZR7"},
		Quorum:    1,
		Reason:    "optional",
		Channel:   "C0RIPOSTE1",
		ExpiresAt: testExpires,
		Why:       "contain actions need a human (risk class contain)",
		Detection: workflows.DetectionSummary{
			ID:         "det-7f3a9c",
			Title:      "Mass file encryption by unsigned binary on fin-ws-042",
			Detector:   "edr-ml/ransom-v4",
			Severity:   "Critical",
			SeverityID: 5,
			Confidence: intPtr(92),
			AttackIDs:  []string{"T1486", "T1490"},
			Host:       "fin-ws-042",
			User:       "CORP\\jdoe",
			IP:         "10.20.30.42",
		},
		RunURL: "https://temporal.corp.example/namespaces/default/workflows/det-7f3a9c-ransomware-response/0196a7c2/history",
	}
}

func testGate(req workflows.GateRequest) workflows.Gate {
	g := gateFromRequest(req, []string{"U024BE7LH", "U0G9QF9C6", "U0H3XYZ12"})
	g.OpenedAt = testOpened
	g.Channel = "C0RIPOSTE1"
	g.MessageTS = "1767323045.000100"
	return g
}

// rendered is what is posted: the fallback text and one coloured
// attachment holding the blocks.
type rendered struct {
	Text        string             `json:"text"`
	Attachments []slack.Attachment `json:"attachments"`
}

func render(blocks []slack.Block, text, color string) rendered {
	return rendered{Text: text, Attachments: []slack.Attachment{{Color: color, Fallback: text, Blocks: slack.Blocks{BlockSet: blocks}}}}
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	approve := func(user, reason string, at time.Time) workflows.Decision {
		return workflows.Decision{GateID: "isolate", Approve: true, User: user, Reason: reason, Via: workflows.ViaSlack, At: at}
	}
	approved := func(r *workflows.GateRequest, g *workflows.Gate) {
		d := approve("U0G9QF9C6", "", testClosed)
		g.State, g.Votes, g.Decision, g.ClosedAt = workflows.GateApproved, []workflows.Decision{d}, &d, &testClosed
	}
	holdUntil := testClosed.Add(24 * time.Hour)
	released := holdUntil.Add(4 * time.Hour)
	ended := released.Add(time.Second)
	tests := []struct {
		name string
		mod  func(*workflows.GateRequest, *workflows.Gate)
		// decided renders DecidedRunBlocks (with run), else RequestBlocks.
		decided bool
		run     *workflows.GateRunState
	}{
		// After the gate closed: a contain_for hold active, then extended
		// and released, and the run's outcome.
		{name: "decided-holding", decided: true, mod: approved, run: &workflows.GateRunState{
			Status: workflows.RunHolding, RunID: "det-7f3a9c-ransomware-response",
			Hold: &workflows.Hold{Step: "isolate", Undo: "crowdstrike.lift_containment", Until: holdUntil},
		}},
		{name: "decided-run-ended", decided: true, mod: approved, run: &workflows.GateRunState{
			Status: workflows.RunSucceeded, Outcome: "contained", OutcomeText: "contained", EndedAt: &ended, RunID: "det-7f3a9c-ransomware-response",
			Hold: &workflows.Hold{Step: "isolate", Undo: "crowdstrike.lift_containment", Until: released, Extensions: []string{"4h by U0G9QF9C6 at …"}, ReleasedAt: &released},
		}},
		{name: "decided-denied-run-ended", decided: true, mod: func(r *workflows.GateRequest, g *workflows.Gate) {
			d := workflows.Decision{GateID: "isolate", User: "U0G9QF9C6", Via: workflows.ViaSlack, At: testClosed}
			g.State, g.Votes, g.Decision, g.ClosedAt = workflows.GateDenied, []workflows.Decision{d}, &d, &testClosed
		}, run: &workflows.GateRunState{
			Status: workflows.RunSucceeded, Outcome: "not_contained", OutcomeText: "not_contained: isolate denied by U0G9QF9C6 <!channel>", EndedAt: &testClosed,
		}},
		{name: "request", mod: func(*workflows.GateRequest, *workflows.Gate) {}},
		{name: "request-quorum", mod: func(r *workflows.GateRequest, g *workflows.Gate) {
			r.Quorum, g.Quorum = 2, 2
			g.Votes = []workflows.Decision{approve("U024BE7LH", "", testOpened.Add(5*time.Minute))}
		}},
		// The playbook's approval.if reads as written, as code; it is
		// not detection text to defang (finding[.]confidence).
		{name: "request-approval-if", mod: func(r *workflows.GateRequest, g *workflows.Gate) {
			r.Why = workflows.WhyApprovalIf + `vars.production || finding.confidence == nil || finding.confidence < 90 || vars.note == "*x* <!here> ` + "`" + `"`
		}},
		{name: "request-reason-required", mod: func(r *workflows.GateRequest, g *workflows.Gate) {
			r.Reason = "required"
		}},
		{name: "request-escalated", mod: func(r *workflows.GateRequest, g *workflows.Gate) {
			r.Escalation, g.Escalated = true, true
			r.Detection.SeverityID, r.Detection.Severity = 4, "High"
			g.Approvers, g.Groups = []string{"U0LEAD001"}, nil
		}},
		{name: "decided-approved", decided: true, mod: func(r *workflows.GateRequest, g *workflows.Gate) {
			d := approve("U0G9QF9C6", "Confirmed with the host owner: <!channel> not involved", testClosed)
			g.State, g.Votes, g.Decision, g.ClosedAt = workflows.GateApproved, []workflows.Decision{d}, &d, &testClosed
		}},
		{name: "decided-denied-api", decided: true, mod: func(r *workflows.GateRequest, g *workflows.Gate) {
			d := workflows.Decision{GateID: "isolate", User: "alice@corp.example", Reason: "false positive: backup job", Via: workflows.ViaAPI, At: testClosed}
			g.State, g.Votes, g.Decision, g.ClosedAt = workflows.GateDenied, []workflows.Decision{d}, &d, &testClosed
		}},
		{name: "decided-timed-out", decided: true, mod: func(r *workflows.GateRequest, g *workflows.Gate) {
			d := workflows.Decision{GateID: "isolate", User: "riposte", Via: workflows.ViaTimeout, At: testExpires}
			g.State, g.Decision, g.ClosedAt = workflows.GateTimedOut, &d, &testExpires
		}},
		{name: "decided-escalated", decided: true, mod: func(r *workflows.GateRequest, g *workflows.Gate) {
			g.State, g.Escalated, g.ClosedAt = workflows.GateEscalated, true, &testExpires
			g.Approvers, g.Groups = []string{"U0LEAD001"}, []string{"S0LEADS01"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := testRequest()
			gate := testGate(req)
			tt.mod(&req, &gate)
			var r rendered
			if tt.decided {
				r = render(DecidedRunBlocks(req, gate, tt.run))
			} else {
				r = render(RequestBlocks(req, gate))
			}
			golden(t, tt.name+".golden.json", r)
			checkLimits(t, r.Attachments[0].Blocks.BlockSet)
		})
	}
}

func TestSeverityColor(t *testing.T) {
	for id, want := range map[int]string{0: ColorLow, 1: ColorLow, 2: ColorLow, 3: ColorMedium, 4: ColorHigh, 5: ColorCritical, 6: ColorCritical, 99: ColorLow} {
		if got := SeverityColor(id); got != want {
			t.Errorf("SeverityColor(%d) = %s, want %s", id, got, want)
		}
	}
}

func TestButtons(t *testing.T) {
	tests := []struct {
		policy string
		want   []string
	}{
		{"", []string{ActionApprove, ActionDeny, ActionApproveReason}},
		{"optional", []string{ActionApprove, ActionDeny, ActionApproveReason}},
		{"on_deny", []string{ActionApprove, ActionDenyReason, ActionApproveReason}},
		{"required", []string{ActionApproveReason, ActionDenyReason}},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			req := testRequest()
			req.Reason = tt.policy
			gate := testGate(req)
			blocks, _, _ := RequestBlocks(req, gate)
			var ab *slack.ActionBlock
			for _, b := range blocks {
				if a, ok := b.(*slack.ActionBlock); ok {
					ab = a
				}
			}
			if ab == nil || ab.BlockID != BlockButtons {
				t.Fatalf("no actions block %s", BlockButtons)
			}
			var got []string
			for _, e := range ab.Elements.ElementSet {
				btn := e.(*slack.ButtonBlockElement)
				got = append(got, btn.ActionID)
				ref, err := ParseGateRef(btn.Value)
				if err != nil {
					t.Fatal(err)
				}
				want := GateRef{WorkflowID: req.WorkflowID, GateID: req.GateID, MessageTS: gate.MessageTS, RunID: req.RunID}
				if ref != want {
					t.Errorf("button value = %+v, want %+v", ref, want)
				}
				if btn.Text.Type != slack.PlainTextType {
					t.Errorf("button text type %s", btn.Text.Type)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("buttons = %v, want %v", got, tt.want)
			}
		})
	}
	// Decided messages have no buttons.
	req := testRequest()
	gate := testGate(req)
	gate.State = workflows.GateApproved
	blocks, _, _ := DecidedBlocks(req, gate)
	for _, b := range blocks {
		if b.BlockType() == slack.MBTAction {
			t.Error("decided message still has buttons")
		}
	}
}

func TestGateRefRoundTrip(t *testing.T) {
	in := GateRef{WorkflowID: "wf", GateID: "g", MessageTS: "1.2", Channel: "C1", Approve: true}
	if got := in.Encode(); got != `{"w":"wf","g":"g","ts":"1.2","c":"C1","a":true}` {
		t.Errorf("Encode = %s", got)
	}
	out, err := ParseGateRef(in.Encode())
	if err != nil || out != in {
		t.Errorf("ParseGateRef = %+v, %v", out, err)
	}
	for _, bad := range []string{"", "{}", `{"w":"x"}`, `{"g":"x"}`, "not json", strings.Repeat("x", MaxPrivateMeta+1)} {
		if _, err := ParseGateRef(bad); err == nil {
			t.Errorf("ParseGateRef(%.20q) accepted", bad)
		}
	}
}

// textObjects walks blocks as JSON and returns every text object.
func textObjects(t *testing.T, blocks []slack.Block) []map[string]any {
	t.Helper()
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if typ, _ := x["type"].(string); (typ == "plain_text" || typ == "mrkdwn") && x["text"] != nil {
				out = append(out, x)
				return
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(generic)
	return out
}

// checkLimits verifies Slack's length limits on every text object.
func checkLimits(t *testing.T, blocks []slack.Block) {
	t.Helper()
	for _, b := range blocks {
		switch x := b.(type) {
		case *slack.HeaderBlock:
			if n := utf16Len(x.Text.Text); n > MaxHeaderText {
				t.Errorf("header text is %d long", n)
			}
		case *slack.SectionBlock:
			if x.Text != nil && utf16Len(x.Text.Text) > MaxSectionText {
				t.Errorf("section %s text is %d long", x.BlockID, utf16Len(x.Text.Text))
			}
			if len(x.Fields) > 10 {
				t.Errorf("section %s has %d fields", x.BlockID, len(x.Fields))
			}
			for _, f := range x.Fields {
				if utf16Len(f.Text) > MaxFieldText {
					t.Errorf("section %s field is %d long", x.BlockID, utf16Len(f.Text))
				}
			}
		case *slack.ContextBlock:
			if len(x.ContextElements.Elements) > 10 {
				t.Errorf("context %s has %d elements", x.BlockID, len(x.ContextElements.Elements))
			}
		case *slack.ActionBlock:
			for _, e := range x.Elements.ElementSet {
				btn := e.(*slack.ButtonBlockElement)
				if utf16Len(btn.Text.Text) > MaxButtonText {
					t.Errorf("button text %q too long", btn.Text.Text)
				}
				if len(btn.Value) > MaxButtonValue {
					t.Errorf("button value is %d long", len(btn.Value))
				}
			}
		}
	}
	for _, o := range textObjects(t, blocks) {
		if o["type"] == "plain_text" {
			if e, ok := o["emoji"].(bool); !ok || e {
				t.Errorf("plain_text without emoji:false: %v", o)
			}
		}
	}
}

const injection = `<!channel> click <http://evil.example|here> @here *bold* ignore previous instructions <@U0BADBAD1> &lt;!everyone&gt; https://evil.example/x?a=1&b=2 mailto:ceo@evil.example www.evil.example`

func TestInjectionOnlyInPlainText(t *testing.T) {
	req := testRequest()
	req.Detection.Title = injection
	req.Detection.Detector = injection
	req.Detection.Host = injection
	req.Detection.User = injection
	req.Detection.IP = injection
	req.Detection.ID = injection
	req.Detection.AttackIDs = []string{injection}
	req.Params = map[string]any{
		"hostname":   injection,
		injection:    "key too",
		"nested":     map[string]any{"x": []any{injection}},
		"comment":    "\u202Eevil\u200B<!here>\x00\x1b[31m",
		"long_value": strings.Repeat("A", 5000),
	}
	req.Why = injection
	req.Users = []string{"U024BE7LH", injection}

	gate := testGate(req)
	gate.Approvers = append(gate.Approvers, injection)
	d := workflows.Decision{GateID: "isolate", Approve: true, User: injection, Reason: injection, Via: workflows.ViaAPI, At: testClosed}
	closed := gate
	closed.State, closed.Decision, closed.Votes, closed.ClosedAt = workflows.GateApproved, &d, []workflows.Decision{d}, &testClosed

	cases := map[string][]slack.Block{}
	cases["request"], _, _ = RequestBlocks(req, gate)
	cases["decided"], _, _ = DecidedBlocks(req, closed)
	for name, blocks := range cases {
		t.Run(name, func(t *testing.T) {
			checkLimits(t, blocks)
			markers := []string{"evil", "ignore previous instructions", "*bold*"}
			for _, o := range textObjects(t, blocks) {
				text := o["text"].(string)
				if o["type"] == "mrkdwn" && text == "<"+req.RunURL+"|View run in Temporal UI>" {
					continue // Riposte's own link
				}
				for _, bad := range []string{"<!channel", "<!here", "<!everyone", "<@U0BADBAD1", "<http", "&lt;", "&gt;", "@here", "http://", "https://", "mailto:", "\u202E", "\u200B", "\x00", "\x1b"} {
					if strings.Contains(text, bad) {
						t.Errorf("%s object contains %q: %q", o["type"], bad, text)
					}
				}
				if o["type"] == "mrkdwn" {
					for _, m := range markers {
						if strings.Contains(text, m) {
							t.Errorf("untrusted text %q in a mrkdwn object: %q", m, text)
						}
					}
				}
			}
			// The text is still there, defanged, for the approver to read.
			all, _ := json.Marshal(blocks)
			for _, want := range []string{"ignore previous instructions", "hxxp[:]//evil[.]example", "‹!channel›", "＠here"} {
				if !bytes.Contains(all, []byte(want)) {
					t.Errorf("rendered blocks lack %q", want)
				}
			}
		})
	}
	_, fallbackText, _ := RequestBlocks(req, gate)
	if strings.ContainsAny(fallbackText, "<>&") {
		t.Errorf("fallback text has markup: %q", fallbackText)
	}
}

func TestLengthCaps(t *testing.T) {
	req := testRequest()
	long := strings.Repeat("é🙂x", 2000) // multi-byte and surrogate pairs
	req.Playbook, req.StepName = long, long
	req.Detection.Title = long
	req.Detection.Detector = long
	req.Why = long
	req.Params = map[string]any{}
	for i := 0; i < 25; i++ {
		req.Params[strings.Repeat("k", i+1)] = long
	}
	gate := testGate(req)
	blocks, fallbackText, _ := RequestBlocks(req, gate)
	checkLimits(t, blocks)
	if utf16Len(fallbackText) > MaxFallbackText {
		t.Errorf("fallback is %d long", utf16Len(fallbackText))
	}
	var params *slack.SectionBlock
	for _, b := range blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.BlockID == BlockAction {
			params = s
		}
	}
	if params == nil || len(params.Fields) != 10 || !strings.Contains(params.Fields[9].Text, "16 more parameters") {
		t.Errorf("25 params should render as 9 fields and a '16 more' field, got %+v", params)
	}
	closed := gate
	d := workflows.Decision{Approve: true, User: "U024BE7LH", Reason: long, Via: workflows.ViaSlack, At: testClosed}
	closed.State, closed.Decision = workflows.GateApproved, &d
	blocks, _, _ = DecidedBlocks(req, closed)
	checkLimits(t, blocks)
}

func TestNeutralize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"<!channel> hi", "‹!channel› hi"},
		{"<@U123|bob>", "‹@U123|bob›"},
		{"a & b", "a ＆ b"},
		{"&lt;!here&gt;", "＆lt;!here＆gt;"},
		{"@here @Channel @everyone bob@here.example", "＠here ＠Channel ＠everyone bob＠here[.]example"},
		{"see https://evil.example/p?q=1", "see hxxps[:]//evil[.]example/p?q=1"},
		{"HTTP://x.io", "hxxp[:]//x[.]io"},
		{"javascript:alert(1)", "javascript[:]alert(1)"},
		{"slack://open?team=T1", "slack[:]//open?team=T1"},
		{"mail ceo@evil.example now", "mail ceo@evil[.]example now"},
		{"10.20.30.42 and T1059.001", "10.20.30.42 and T1059.001"},
		{"cmd.exe /c", "cmd[.]exe /c"},
		{"line1\nline2\t\tx", "line1 line2 x"},
		{"  trim  ", "trim"},
		{"bidi\u202Eevil\u2066x\u200By\ufeffz", "bidievilxyz"},
		{"ctl\x00\x07\x1b[31mred", "ctl[31mred"},
		{"bad utf8 \xff\xfe", "bad utf8 \uFFFD"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Neutralize(tt.in); got != tt.want {
			t.Errorf("Neutralize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := neutralize("a\n\n\n\nb\r\nc", true); got != "a\n\nb\nc" {
		t.Errorf("multi-line = %q", got)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello world", 6, "hello…"},
		{"🙂🙂🙂", 4, "🙂…"}, // each emoji is 2 UTF-16 units
		{"abc", 0, ""},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.max); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if utf16Len(truncate(tt.in, tt.max)) > tt.max {
			t.Errorf("truncate(%q, %d) too long", tt.in, tt.max)
		}
	}
}

func TestLinkBlock(t *testing.T) {
	for _, bad := range []string{"", "javascript:alert(1)", "ftp://x/y", "/relative", "http://"} {
		if linkBlock(bad) != nil {
			t.Errorf("linkBlock(%q) made a link", bad)
		}
	}
	b := linkBlock("https://ui.example/a?x=1&y=<2>|z")
	js, _ := json.Marshal(b)
	if !strings.Contains(string(js), `https://ui.example/a?x=1\u0026amp;y=%3C2%3E%7Cz|View run in Temporal UI`) {
		t.Errorf("link not escaped: %s", js)
	}
}

// A detection without confidence says "unknown", never 0%.
func TestRenderUnknownConfidence(t *testing.T) {
	req := testRequest()
	req.Detection.Confidence = nil
	blocks, _, _ := RequestBlocks(req, workflows.Gate{State: workflows.GatePending})
	b, _ := json.Marshal(blocks)
	if !strings.Contains(string(b), "unknown") || strings.Contains(string(b), "0%") {
		t.Errorf("confidence not shown as unknown: %s", b)
	}
	// A withdrawn gate says so.
	closed, _, _ := DecidedBlocks(testRequest(), workflows.Gate{State: workflows.GateWithdrawn})
	b, _ = json.Marshal(closed)
	if !strings.Contains(string(b), "Withdrawn") || !strings.Contains(string(b), "nothing will be contained") {
		t.Errorf("withdrawn outcome: %s", b)
	}
}

// The run-state section is mrkdwn: outside text in it (a release error
// echoing a vendor body, the outcome's detail, the run id holding the
// detection's uid) must sit inside code spans, where Slack formats
// nothing, and must not be able to close them.
func TestRunStateOutsideTextOnlyInCode(t *testing.T) {
	req := testRequest()
	hostile := injection + " `*escaped*` _it_ ~strike~"
	released := testClosed.Add(time.Hour)
	gate := testGate(req)
	d := workflows.Decision{GateID: "isolate", Approve: false, User: "U024BE7LH", Via: workflows.ViaSlack, At: testClosed}
	gate.State, gate.Decision, gate.ClosedAt = workflows.GateDenied, &d, &testClosed
	runs := map[string]*workflows.GateRunState{
		"holding": {Status: workflows.RunHolding, RunID: "ransomware-response:" + hostile,
			Hold: &workflows.Hold{Step: "isolate", Undo: "crowdstrike.lift_containment", Until: released}},
		"release failed": {Status: workflows.RunHolding, RunID: "r1",
			Hold: &workflows.Hold{Step: "isolate", Undo: "crowdstrike.lift_containment", Until: released, ReleasedAt: &released, Error: hostile}},
		"ended": {Status: workflows.RunSucceeded, Outcome: workflows.OutcomeNotContained, EndedAt: &released,
			OutcomeText: workflows.OutcomeText(workflows.OutcomeNotContained, "block refused by policy (r1): "+hostile)},
	}
	code := regexp.MustCompile("`[^`]*`")
	for name, run := range runs {
		t.Run(name, func(t *testing.T) {
			blocks, _, _ := DecidedRunBlocks(req, gate, run)
			found := false
			for _, o := range textObjects(t, blocks) {
				text := o["text"].(string)
				if o["type"] != "mrkdwn" || text == "<"+req.RunURL+"|View run in Temporal UI>" {
					continue
				}
				if strings.Contains(text, "ignore previous instructions") {
					found = true
				}
				outside := code.ReplaceAllString(text, "")
				for _, bad := range []string{"ignore previous", "*bold*", "*escaped*", "_it_", "~strike~", "evil", "<!channel", "<http"} {
					if strings.Contains(outside, bad) {
						t.Errorf("%q outside a code span in mrkdwn %q", bad, text)
					}
				}
			}
			if !found {
				t.Errorf("the outside text is not shown at all")
			}
		})
	}
}
