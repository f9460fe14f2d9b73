package slackapp

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/riposte-dev/riposte/workflows"
)

// The playbook's approval.if is shown "as inline code as written" (the
// approval message's why line). The block is mrkdwn, where Slack's own
// escaping (&lt; &gt; &amp;, api.slack.com "Escaping text") shows <, >
// and & as they are and can form no link or mention; the look-alikes used
// for plain_text (‹ › ＆) made the most common operators unreadable and
// uncopyable: finding.confidence ‹ 90, severity_id ›= 4 ＆＆ ...
func TestWhyApprovalIfShowsOperatorsAsWritten(t *testing.T) {
	expr := `detection.severity_id >= 4 && finding.confidence < 90 && vars.note != "<!here>"`
	b := whyBlock(workflows.GateRequest{Why: workflows.WhyApprovalIf + expr}, false)
	sec, ok := b.(*slack.SectionBlock)
	if !ok || sec.Text == nil || sec.Text.Type != slack.MarkdownType {
		t.Fatalf("why block %#v; want a mrkdwn section", b)
	}
	text := sec.Text.Text
	want := "`detection.severity_id &gt;= 4 &amp;&amp; finding.confidence &lt; 90 &amp;&amp; vars.note != \"&lt;!here&gt;\"`"
	if !strings.Contains(text, want) {
		t.Errorf("why text:\n %s\nwant it to hold the expression as written, escaped for mrkdwn:\n %s", text, want)
	}
	if strings.ContainsAny(text, "<>‹›＆") {
		t.Errorf("why text %q: a raw < > (a link or mention) or a look-alike", text)
	}
}

// Escaping lengthens the text (& is five characters): the section stays
// within Slack's 3,000 characters however long the expression.
func TestWhyApprovalIfEscapedStaysWithinSection(t *testing.T) {
	b := whyBlock(workflows.GateRequest{Why: workflows.WhyApprovalIf + strings.Repeat("a && ", 2000)}, true)
	sec := b.(*slack.SectionBlock)
	if n := utf16Len(sec.Text.Text); n > MaxSectionText {
		t.Errorf("why text is %d characters; Slack takes %d", n, MaxSectionText)
	}
	if !strings.Contains(sec.Text.Text, "…`") {
		t.Errorf("why text %.80q…: want it cut with …", sec.Text.Text)
	}
}
