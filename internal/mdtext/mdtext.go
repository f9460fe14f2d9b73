// Package mdtext renders untrusted text (detection titles, ids, vendor
// error text: often written by an AI or an attacker) for surfaces that
// render Markdown, such as a run's summary and details in the Temporal UI.
//
// The text must show as the characters it is, never as markup: no link,
// image, autolink, HTML tag, entity, emphasis, heading or list. CommonMark
// lets any ASCII punctuation be backslash-escaped and then treats it as a
// literal character, so Text escapes every one of them; escaping also
// breaks the GFM autolink literals (www., http://, user@host) since the
// backslash interrupts them. Line breaks would start new blocks (headings,
// lists), so the result is always one line.
package mdtext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// asciiPunct is CommonMark's "ASCII punctuation character" set: each may
// be backslash-escaped.
const asciiPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// Text returns s as literal Markdown text on one line: control, format
// (bidi overrides, zero-width) and invalid characters dropped, whitespace
// collapsed to single spaces, at most limit runes of s kept (then "…"),
// and every ASCII punctuation character backslash-escaped.
func Text(s string, limit int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || r == '\u2028' || r == '\u2029':
			space = true
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		if n >= limit {
			b.WriteString("…")
			break
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if strings.ContainsRune(asciiPunct, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
