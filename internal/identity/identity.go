// Package identity normalizes the identities Riposte compares (Slack user
// ids, token and OIDC subjects), so that two spellings of one id compare
// equal and look-alike tricks (zero-width spaces, full-width letters, case)
// cannot make one person look like two.
package identity

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Normalize returns the comparison form of an identity: Unicode NFKC (via
// NFKD, so combining marks are dropped), case
// folded, with every invisible (format, control, unassigned-looking default
// ignorable) and whitespace character removed. It is pure and deterministic
// (workflow code uses it).
func Normalize(id string) string {
	// Invalid UTF-8 first becomes U+FFFD: the norm package leaves a
	// character after a broken byte sequence undecomposed, so its marks
	// survived one pass and fell off in the next (found by FuzzNormalize).
	// Ids decoded from JSON are valid UTF-8 already: this changes nothing
	// for them, nor for the workflows that compare them.
	s := strings.ToValidUTF8(id, string(utf8.RuneError))
	// Decompose first so combining marks can be dropped, then compose.
	s = norm.NFKD.String(s)
	s = cases.Fold().String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if invisible(r) {
			continue
		}
		if unicode.Is(unicode.Cherokee, r) {
			// Unicode folds Cherokee to its capitals; x/text's Fold swaps
			// the two cases instead, so "ꮇ" and "Ꮇ" would each fold to
			// the other and never compare equal (found by FuzzNormalize).
			r = unicode.ToUpper(r)
		}
		b.WriteRune(r)
	}
	// Folding can produce compatibility characters again; normalize once
	// more so Normalize is idempotent.
	return norm.NFKC.String(b.String())
}

// invisible reports characters that print as nothing or as blank space.
func invisible(r rune) bool {
	switch {
	case unicode.IsSpace(r), unicode.IsControl(r):
		return true
	case unicode.In(r, unicode.Cf, unicode.Zs, unicode.Zl, unicode.Zp, unicode.Mn, unicode.Me):
		// Cf: zero-width space/joiners, bidi marks, soft hyphen, BOM;
		// Mn/Me: combining marks that stack invisibly on an id.
		return true
	case unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r), unicode.Is(unicode.Variation_Selector, r):
		return true
	case r == '\u115F' || r == '\u1160' || r == '\u3164' || r == '\uFFA0' || r == '\u2800':
		// Hangul fillers and the braille blank render as empty space.
		return true
	}
	return false
}

// Equal reports whether a and b name the same identity. Two empty (or
// all-invisible) ids are never equal: an empty identity is nobody.
func Equal(a, b string) bool {
	na, nb := Normalize(a), Normalize(b)
	return na != "" && na == nb
}

// Contains reports whether list holds id (by Equal).
func Contains(list []string, id string) bool {
	n := Normalize(id)
	if n == "" {
		return false
	}
	for _, x := range list {
		if Normalize(x) == n {
			return true
		}
	}
	return false
}

// SlackUserPattern and SlackGroupPattern are the shapes of a Slack user
// id, U (workspace) or W (Enterprise Grid), and of a user group id, S,
// followed by letters and digits; case is not significant.
const (
	SlackUserPattern  = `^[UWuw][A-Za-z0-9]{1,40}$`
	SlackGroupPattern = `^[Ss][A-Za-z0-9]{1,40}$`
)

var slackUserID = regexp.MustCompile(SlackUserPattern)

// IsSlackUserID reports whether id has the shape of a Slack user id (U… or
// W…, letters and digits; case is not significant, as in Equal). The
// identities Riposte binds to people (personal tokens, the OIDC mapping, a
// vouched requester) must be: a Slack click carries the user id, and an
// email or a name standing for the same person would never be Equal to it.
func IsSlackUserID(id string) bool {
	return slackUserID.MatchString(id)
}

var slackGroupID = regexp.MustCompile(SlackGroupPattern)

// IsSlackGroupID reports whether id has the shape of a Slack user group id
// (S…), which a gate resolves to its members when it opens.
func IsSlackGroupID(id string) bool { return slackGroupID.MatchString(id) }
