package connector

import (
	"strings"
	"unicode"
)

// ShownText prepares text an action sends for a person to read (a Slack
// message, a Jira description or comment, a PagerDuty summary), which
// playbooks fill with detection text: control characters other than line
// breaks and tabs are dropped (a terminal escape, a bell), and so is every
// format character (Cf: bidi overrides such as U+202E, which show
// "evil\u202Efdp.exe" as "evilexe.pdf" and reverse the rest of the line;
// zero-width characters; the tag characters U+E0000-U+E007F that spell
// hidden ASCII). CR LF and a lone CR become LF. Everything else, markup
// characters included, is left as it is: each action sends its text where
// it is not parsed as markup, or escapes it.
func ShownText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
}

// ShownLine is ShownText on one line: line breaks, tabs and runs of spaces
// become one space (a Jira summary, an EC2 description).
func ShownLine(s string) string { return strings.Join(strings.Fields(ShownText(s)), " ") }
