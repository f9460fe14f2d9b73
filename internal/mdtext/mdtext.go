// Package mdtext renders untrusted text (detection titles, ids, vendor
// error text: often written by an AI or an attacker) for surfaces that
// render Markdown, such as a run's summary and details in the Temporal UI.
//
// The text must show as the characters it is, never as markup: no link,
// image, autolink, HTML tag, entity, emphasis, heading or list. CommonMark
// lets any ASCII punctuation be backslash-escaped and then treats it as a
// literal character; the Temporal UI's renderer takes fewer escapes, so
// Text escapes the punctuation both take (asciiPunct); escaping also
// breaks the GFM autolink literals (www., http://, user@host) since the
// backslash interrupts them. Line breaks would start new blocks (headings,
// lists), so the result is always one line. A "/" after a digit is written
// as the character reference &#47;, since the Temporal UI's renderer makes
// "3/4" or a date's "12/06" a fraction (<sup>, <sub>); likewise a
// backslash is written &#92;, since that renderer takes a delimiter after
// any backslash as escaped, so text ending with one broke the markup
// around it. Its SmartyPants also shows straight quotes as typographic
// ones, whatever their spelling (\" or &#34;); no escape
// keeps them straight outside a code span, so the UI is not where to copy
// a command line from: the API and the CLI give the exact text. Clip cuts text to a
// field's byte limit without splitting a character.
package mdtext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// asciiPunct is the punctuation both renderers that show Riposte's text
// take backslash escapes of: the Temporal UI's (ui-server's /render route,
// gomarkdown, which knows only these escapes and would show a backslash
// before any other character, as in "alice\@corp") and CommonMark/GFM
// (which takes an escape before any ASCII punctuation). It holds every
// character that starts markup in either; the escape before ':' and '.'
// also breaks autolinks (http://, www., user@host).
const asciiPunct = "\\`*_{}[]()#+-.!:|&<>~^$"

// Text returns s as literal Markdown text on one line: control, format
// (bidi overrides, zero-width) and invalid characters dropped, whitespace
// collapsed to single spaces, at most limit runes of s kept (then "…"),
// and every ASCII punctuation character escaped (backslash-escaped, or as
// a character reference where the Temporal UI's renderer needs one).
func Text(s string, limit int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	n := 0
	space := false
	prev := rune(0)
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
		switch {
		case r == '/' && prev >= '0' && prev <= '9':
			// The Temporal UI's renderer (SmartyPants fractions) shows
			// digits/digits as <sup>3</sup>&frasl;<sub>4</sub>; it takes
			// no \/ escape, but the character reference is a plain "/"
			// in both renderers.
			b.WriteString("&#47;")
		case r == '\\':
			// Not \\: the Temporal UI's renderer takes a delimiter after
			// any backslash as escaped, so text ending with one would
			// break the ** Riposte writes around it.
			b.WriteString("&#92;")
		case strings.ContainsRune(asciiPunct, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		prev = r
		n++
	}
	return b.String()
}

// Clip cuts s to at most n bytes at a character boundary, for fields with
// a byte limit (a search attribute, an EC2 description): a split UTF-8
// sequence is not valid text there.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
