package slacklab

import (
	"html/template"
	"net/url"
	"regexp"
	"strings"
)

// Slack's mrkdwn, rendered as Slack's clients show it, for what Riposte
// writes: mentions (<@U…>, <!subteam^S…>, <!here>), dates
// (<!date^…|fallback>, shown as their fallback, which Riposte writes in
// UTC), links (<url|label>, followed only for http and https), `code`,
// *bold*, _italic_, ~strike~, the &amp; &lt; &gt; entities and line breaks.
// Every character of text is HTML-escaped; only these constructs make
// markup. Untrusted text (detections, vendor errors) reaches Slack with its
// <, > and & replaced by look-alikes and inside code spans
// (slackapp.Neutralize), so it cannot form any of them, here as in Slack:
// the page shows what an approver sees.

var (
	// A control sequence: <…> with no < or > inside.
	controlSeq = regexp.MustCompile(`<([^<>]*)>`)
	// Emphasis: a delimiter after a start, a space or an opening
	// punctuation and before an end, a space or a closing punctuation, as
	// Slack requires, so snake_case and 2*3*4 stay as typed.
	emphasis = map[string]*regexp.Regexp{
		"b": regexp.MustCompile(`(^|[\s(\[{"'])\*([^*\n]*[^*\s])\*($|[\s)\]}"'.,:;!?])`),
		"i": regexp.MustCompile(`(^|[\s(\[{"'])_([^_\n]*[^_\s])_($|[\s)\]}"'.,:;!?])`),
		"s": regexp.MustCompile(`(^|[\s(\[{"'])~([^~\n]*[^~\s])~($|[\s)\]}"'.,:;!?])`),
	}
	entities = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")
)

// mrkdwn renders a mrkdwn text object's text.
func mrkdwn(s string) template.HTML {
	var b strings.Builder
	for len(s) > 0 {
		open := strings.IndexByte(s, '`')
		if open < 0 {
			b.WriteString(formatted(s))
			break
		}
		end := strings.IndexByte(s[open+1:], '`')
		if end < 0 {
			b.WriteString(formatted(s))
			break
		}
		b.WriteString(formatted(s[:open]))
		b.WriteString("<code>" + template.HTMLEscapeString(entities.Replace(s[open+1:open+1+end])) + "</code>")
		s = s[open+1+end+1:]
	}
	return template.HTML(b.String()) //nolint:gosec // built from escaped text and fixed tags only
}

// formatted renders text outside code spans: control sequences, and
// emphasis in the text between them.
func formatted(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range controlSeq.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(emphasized(s[last:m[0]]))
		b.WriteString(control(s[m[2]:m[3]]))
		last = m[1]
	}
	b.WriteString(emphasized(s[last:]))
	return b.String()
}

// emphasized escapes plain text and applies *bold*, _italic_ and ~strike~.
func emphasized(s string) string {
	out := template.HTMLEscapeString(entities.Replace(s))
	for _, tag := range []string{"b", "i", "s"} {
		// Twice: a match takes the space after it, which the next one
		// needs before it ("*a* *b*").
		for range 2 {
			out = emphasis[tag].ReplaceAllString(out, "${1}<"+tag+">${2}</"+tag+">${3}")
		}
	}
	return out
}

// control renders the inside of one <…> sequence.
func control(seq string) string {
	target, label, hasLabel := strings.Cut(seq, "|")
	label = entities.Replace(label)
	switch {
	case strings.HasPrefix(target, "@"):
		return mention("@" + strings.TrimPrefix(target, "@"))
	case strings.HasPrefix(target, "!subteam^"):
		if hasLabel {
			return mention(label)
		}
		return mention("@" + strings.TrimPrefix(target, "!subteam^"))
	case strings.HasPrefix(target, "!date^"):
		if hasLabel {
			return `<span class="date" title="` + template.HTMLEscapeString(target) + `">` + template.HTMLEscapeString(label) + "</span>"
		}
		return template.HTMLEscapeString("<" + entities.Replace(seq) + ">")
	case target == "!here" || target == "!channel" || target == "!everyone":
		return mention("@" + strings.TrimPrefix(target, "!"))
	}
	href := entities.Replace(target)
	if !hasLabel {
		label = href
	}
	if u, err := url.Parse(href); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return `<a href="` + template.HTMLEscapeString(u.String()) + `" target="_blank" rel="noopener noreferrer">` + template.HTMLEscapeString(label) + "</a>"
	}
	// Anything else (mailto:, a scheme Slack would not link) as typed.
	return template.HTMLEscapeString("<" + entities.Replace(seq) + ">")
}

func mention(name string) string {
	return `<span class="mention">` + template.HTMLEscapeString(name) + "</span>"
}
