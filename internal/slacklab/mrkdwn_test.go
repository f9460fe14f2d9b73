package slacklab

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/workflows"
)

// The page shows mrkdwn as Slack's clients do, for what Riposte writes.
func TestMrkdwn(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Expires <!date^1796512782^{date_short_pretty} at {time}|2026-12-05 23:19 UTC>",
			`Expires <span class="date" title="!date^1796512782^{date_short_pretty} at {time}">2026-12-05 23:19 UTC</span>`},
		{"Approvers: <@U0INFRA001>, <!subteam^S0614TZR7>, <!subteam^S1|@oncall>",
			`Approvers: <span class="mention">@U0INFRA001</span>, <span class="mention">@S0614TZR7</span>, <span class="mention">@oncall</span>`},
		{"<http://127.0.0.1:8233/namespaces/default/workflows/a:b/history|View run in Temporal UI>",
			`<a href="http://127.0.0.1:8233/namespaces/default/workflows/a:b/history" target="_blank" rel="noopener noreferrer">View run in Temporal UI</a>`},
		{"<https://x.example/?a=1&amp;b=2>", `<a href="https://x.example/?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">https://x.example/?a=1&amp;b=2</a>`},
		{"<javascript:alert(1)|click>", `&lt;javascript:alert(1)|click&gt;`},
		{"*Run ended*: contained", `<b>Run ended</b>: contained`},
		{"*a* *b* *c*", `<b>a</b> <b>b</b> <b>c</b>`},
		{"_it_ ~gone~ snake_case 2*3*4 file_a_b", `<i>it</i> <s>gone</s> snake_case 2*3*4 file_a_b`},
		{"`*not bold* <@U1> &lt;b&gt;` after", `<code>*not bold* &lt;@U1&gt; &lt;b&gt;</code> after`},
		{"ATT&amp;CK &lt;script&gt;", `ATT&amp;CK &lt;script&gt;`},
		{"unclosed `code and *bold*", "unclosed `code and <b>bold</b>"},
	} {
		if got := string(mrkdwn(tc.in)); got != tc.want {
			t.Errorf("mrkdwn(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// An approval request whose detection an attacker wrote renders on the
// page as it does in Slack: its text is there, inert (no link, no mention,
// no markup of its own); Riposte's own link, mentions and date render.
func TestHostileRequestInert(t *testing.T) {
	hostile := `<script>alert(1)</script> <@U0ATTACKER> <!here> <https://evil.example|click me> *urgent* javascript:alert(2)`
	req := workflows.GateRequest{
		WorkflowID: "wf", GateID: "isolate", Playbook: "pb", Version: 1, StepID: "isolate", Action: "crowdstrike.contain_host", Risk: "contain",
		Params: map[string]any{"hostname": hostile}, Users: []string{"U0SOCLEAD1"}, Quorum: 1, Channel: "C0RIPOSTE1",
		ExpiresAt: time.Date(2026, 12, 5, 23, 19, 0, 0, time.UTC), Why: "contain actions need a human",
		Detection: workflows.DetectionSummary{ID: "d1", Title: hostile, Detector: hostile, Severity: "High", SeverityID: 4, Host: hostile},
		RunURL:    "http://127.0.0.1:8233/namespaces/default/workflows/wf/history",
	}
	blocks, _, _ := slackapp.RequestBlocks(req, workflows.Gate{Quorum: 1})
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var generic []map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	if err := pageTmpl.Execute(&page, pageView{Messages: []messageView{{Channel: "C0RIPOSTE1", TS: "1.1", Blocks: blocksView(generic)}}}); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	for _, bad := range []string{"<script", `href="https://evil`, "@U0ATTACKER</span>", "@here</span>", "<b>urgent</b>", `href="javascript`} {
		if strings.Contains(html, bad) {
			t.Errorf("the page renders the detection's %q:\n%s", bad, html)
		}
	}
	for _, want := range []string{"alert(1)", "U0ATTACKER", `<span class="mention">@U0SOCLEAD1</span>`, ">View run in Temporal UI</a>", "2026-12-05 23:19 UTC</span>"} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q:\n%s", want, html)
		}
	}
}

// A message posted without blocks (slack.post_message) shows its text,
// entities decoded, nothing formatted.
func TestTextMessage(t *testing.T) {
	var page strings.Builder
	if err := pageTmpl.Execute(&page, pageView{Messages: []messageView{{Channel: "C0SOCALERT", TS: "1.2", Text: entities.Replace("Phish &lt;b&gt; *x* clicked by a&amp;b")}}}); err != nil {
		t.Fatal(err)
	}
	if want := `<div class="section">Phish &lt;b&gt; *x* clicked by a&amp;b</div>`; !strings.Contains(page.String(), want) {
		t.Errorf("text message: want %s in\n%s", want, page.String())
	}
}

// FuzzMrkdwn: whatever the text, the rendering is well-formed markup made
// of the few elements mrkdwn produces (no other tag, attribute, comment),
// with links only to http and https.
func FuzzMrkdwn(f *testing.F) {
	for _, s := range []string{"Expires <!date^1^{time}|x> <@U1> <https://a.example|b> *c* _d_ ~e~ `f`",
		"<javascript:x|y>", "<<@U1>>", "a&amp;b&lt;c&gt;", "`<b>`", "*`x`*", "<http://a\"onmouseover=x|y>", "<!subteam^S1|@on call>"} {
		f.Add(s)
	}
	allowed := map[string]bool{"span": true, "a": true, "code": true, "b": true, "i": true, "s": true}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(mrkdwn(s))
		z := html.NewTokenizer(strings.NewReader(out))
		var open []string
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			tok := z.Token()
			switch tt {
			case html.StartTagToken:
				if !allowed[tok.Data] {
					t.Fatalf("mrkdwn(%q) made a <%s>: %s", s, tok.Data, out)
				}
				for _, a := range tok.Attr {
					switch {
					case a.Key == "href" && !strings.HasPrefix(a.Val, "http://") && !strings.HasPrefix(a.Val, "https://"):
						t.Fatalf("mrkdwn(%q) links to %q", s, a.Val)
					case a.Key != "href" && a.Key != "class" && a.Key != "title" && a.Key != "target" && a.Key != "rel":
						t.Fatalf("mrkdwn(%q) made an attribute %s=%q", s, a.Key, a.Val)
					}
				}
				open = append(open, tok.Data)
			case html.EndTagToken:
				if len(open) == 0 || open[len(open)-1] != tok.Data {
					t.Fatalf("mrkdwn(%q) closes </%s> with %v open: %s", s, tok.Data, open, out)
				}
				open = open[:len(open)-1]
			case html.SelfClosingTagToken, html.CommentToken, html.DoctypeToken:
				t.Fatalf("mrkdwn(%q) made %s: %s", s, tt, out)
			}
		}
		if len(open) != 0 {
			t.Fatalf("mrkdwn(%q) leaves %v open: %s", s, open, out)
		}
	})
}
