package slackapp

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Slack's length limits for Block Kit text, in characters (counted here as
// UTF-16 code units, as Slack's JavaScript clients count them).
const (
	MaxHeaderText     = 150
	MaxSectionText    = 3000
	MaxFieldText      = 2000
	MaxContextText    = 2000
	MaxButtonText     = 75
	MaxButtonValue    = 2000
	MaxModalTitle     = 24
	MaxPrivateMeta    = 3000
	MaxFallbackText   = 300
	MaxReason         = 1000
	MaxEphemeralText  = 1000
	MaxMessageText    = 40000 // chat.postMessage text, as Slack receives it (escaped)
	maxParamFields    = 10    // Slack allows at most 10 fields in a section
	maxContextElems   = 10    // and 10 elements in a context block
	maxListedPeople   = 10
	maxDetectionField = 500
)

var (
	// scheme:// anywhere (http, https, ftp, javascript, slack, ...).
	schemeSlashes = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]{0,30}):(//)`)
	// schemes used without slashes that clients turn into links.
	schemeNoSlash = regexp.MustCompile(`(?i)\b(mailto|tel|sms|javascript|data|slack|file|callto|skype):(\S)`)
	// host names: labels separated by dots, ending in a letter-only (or
	// punycode) top-level label. IPv4 addresses and ATT&CK sub-technique ids
	// (T1059.001) end in digits and are left alone.
	domainLike = regexp.MustCompile(`(?i)\b(?:[a-z0-9](?:[a-z0-9_-]{0,62})?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})\b`)
	// broadcast mentions written without Slack's <!...> syntax.
	broadcastWord = regexp.MustCompile(`(?i)@(here|channel|everyone|group)\b`)
)

// Neutralize makes untrusted text safe to show in a plain_text object: it
// removes control, bidirectional and zero-width characters, defangs URLs and
// host names the way analysts write indicators (hxxps[:]//evil[.]example), and
// replaces the characters Slack treats as markup (<, >, &) and broadcast
// words (@here) with look-alikes, so nothing can become a mention, a link or
// an entity. Whitespace is collapsed to single spaces.
func Neutralize(s string) string { return neutralize(s, false) }

// neutralize is Neutralize; keepNewlines keeps line breaks (at most two in a
// row) for multi-line text such as reasons.
func neutralize(s string, keepNewlines bool) string {
	s = cleanChars(s, keepNewlines)
	s = defang(s)
	return markupSafe(s)
}

// plain is the lighter treatment for text Riposte itself controls (playbook,
// step and action names, the gate's rule): no defanging, but still no markup
// and no control characters.
func plain(s string) string { return markupSafe(cleanChars(s, false)) }

var markupReplacer = strings.NewReplacer(
	"<", "‹", // U+2039
	">", "›", // U+203A
	"&", "＆", // U+FF06
)

func markupSafe(s string) string {
	s = markupReplacer.Replace(s)
	return broadcastWord.ReplaceAllString(s, "＠$1") // U+FF20
}

func defang(s string) string {
	s = schemeSlashes.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.Index(m, "://")
		scheme := m[:i]
		switch strings.ToLower(scheme) {
		case "http":
			scheme = "hxxp"
		case "https":
			scheme = "hxxps"
		case "ftp":
			scheme = "fxp"
		}
		return scheme + "[:]//"
	})
	s = schemeNoSlash.ReplaceAllString(s, "$1[:]$2")
	return domainLike.ReplaceAllStringFunc(s, func(m string) string {
		return strings.ReplaceAll(m, ".", "[.]")
	})
}

// cleanChars drops control, format (bidi overrides, zero-width) and invalid
// characters and collapses whitespace.
func cleanChars(s string, keepNewlines bool) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is pending
	newlines := 0  // newlines pending
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
			if keepNewlines {
				if r != '\r' {
					newlines++
				}
			} else {
				space = true
			}
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		if b.Len() > 0 {
			switch {
			case newlines > 0:
				b.WriteString(strings.Repeat("\n", min(newlines, 2)))
			case space:
				b.WriteByte(' ')
			}
		}
		space, newlines = false, 0
		b.WriteRune(r)
	}
	return b.String()
}

// truncate shortens s to at most max UTF-16 code units, ending with "…"
// when it had to cut.
func truncate(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if utf16Len(s) <= max {
		return s
	}
	n := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if n+w > max-1 {
			return strings.TrimRightFunc(s[:i], unicode.IsSpace) + "…"
		}
		n += w
	}
	return s
}

// ClipMessageText fits text for a plain-text message (PostText) into max
// characters (UTF-16 units) as Slack receives it: after &, < and > are
// escaped as &amp;, &lt; and &gt; (one character becomes four or five),
// the length Slack's limit applies to. Text that fits is returned as is
// with 0; longer text is cut between characters (never inside an entity,
// which is only made when it is sent, nor inside a UTF-8 sequence) and
// ends with a line saying how many characters were left out, which is
// returned too.
func ClipMessageText(text string, max int) (string, int) {
	if escapedLen(text) <= max {
		return text, 0
	}
	total := utf8.RuneCountInString(text)
	// The note is sized for the largest count it could name, so the cut
	// made before knowing the count leaves room for it.
	note := func(n int) string {
		return fmt.Sprintf("\n… [clipped by Riposte: %d more characters did not fit Slack's %d-character limit]", n, max)
	}
	room := max - utf16Len(note(total))
	n, kept, i := 0, 0, 0
	for j, r := range text {
		w := escapedLen(string(r))
		if n+w > room {
			break
		}
		n += w
		kept++
		i = j + utf8.RuneLen(r)
	}
	return strings.TrimRightFunc(text[:i], unicode.IsSpace) + note(total-kept), total - kept
}

// escapedLen is the length in UTF-16 units of s once &, < and > are
// escaped for Slack.
func escapedLen(s string) int {
	n := utf16Len(s)
	for _, r := range s {
		switch r {
		case '&':
			n += 4
		case '<', '>':
			n += 3
		}
	}
	return n
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if w := utf16.RuneLen(r); w > 0 {
			n += w
		} else {
			n++
		}
	}
	return n
}

// safeText is untrusted text, neutralised and capped.
func safeText(s string, max int) string { return truncate(Neutralize(s), max) }

// codeSpan shows already neutralised text (safeText, or plain for ids
// and commands that must stay exact) as inline code in a mrkdwn object,
// where Slack formats nothing: *bold*, _italic_, ~strike~ in it stay
// literal. Backticks become a look-alike (U+02CB) so the text cannot close
// the span.
func codeSpan(s string) string {
	s = strings.ReplaceAll(s, "`", "\u02CB")
	if strings.TrimSpace(s) == "" {
		return "–"
	}
	return "`" + s + "`"
}

// mrkdwnEscaper escapes what Slack's mrkdwn reads as markup (&, <, >: a
// link, a mention, a command) with the entities Slack asks for, which it
// shows as the characters themselves.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// mrkdwnCode is s as inline code in a mrkdwn text, as written: control
// and invisible characters dropped, &, < and > escaped (mrkdwnEscaper:
// shown as they are, never a link or mention; not the look-alikes plain
// text needs), a backtick (which would end the span) replaced by ˋ, and
// at most max UTF-16 units once escaped (cut with …).
func mrkdwnCode(s string, max int) string {
	s = strings.ReplaceAll(cleanChars(s, false), "`", "\u02CB")
	if strings.TrimSpace(s) == "" {
		return "–"
	}
	esc := mrkdwnEscaper.Replace(s)
	if utf16Len(esc) > max-2 {
		var b strings.Builder
		n := 0
		for _, r := range s {
			e := mrkdwnEscaper.Replace(string(r))
			if n+utf16Len(e) > max-3 {
				break
			}
			b.WriteString(e)
			n += utf16Len(e)
		}
		esc = strings.TrimRightFunc(b.String(), unicode.IsSpace) + "…"
	}
	return "`" + esc + "`"
}

// slackIDPattern matches user ids (U/W...) that may be written as <@ID>.
var (
	userIDPattern  = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	groupIDPattern = regexp.MustCompile(`^S[A-Z0-9]{2,20}$`)
)

// IsUserID reports whether s looks like a Slack user id (U... or W...).
func IsUserID(s string) bool { return userIDPattern.MatchString(s) }

// IsGroupID reports whether s looks like a Slack user-group id (S...).
func IsGroupID(s string) bool { return groupIDPattern.MatchString(s) }

// escapeMrkdwnURL makes a URL safe inside <url|text>.
func escapeMrkdwnURL(u string) string {
	return strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C", " ", "%20").Replace(u)
}
