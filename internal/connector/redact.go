package connector

import (
	"regexp"
	"strings"
	"unicode"
)

// Vendors echo credentials in their error bodies (an OAuth token in an
// "invalid_token" answer, the Authorization header in a debug dump, an AWS
// secret in a signature error), and those bodies become activity errors:
// Temporal history, worker logs, the API. RedactShapes removes values that
// look like credentials even when Riposte never knew them; Redact also
// removes the exact values it did know (resolved secrets, fetched tokens).

// secretKeyValue: "access_token":"…", access_token=…, 'client_secret': '…',
// SecretAccessKey: …, X-Api-Key: … (JSON, form, header and log shapes),
// and {\"password\":\"…\"} (JSON quoted in a JSON string: a vendor echoing
// the request it refused). A quoted value is taken to its closing quote.
var secretKeyValue = regexp.MustCompile(`(?i)(` + secretKeyNames + `)(\\?"?'?\s*[:=]\s*)(` + escapedValue + `\\"|"(?:[^"\\]|\\.)*"|'[^']*'|[^"'&,;\s}\]\\][^"'&,;\s}\]]*(?:\s+[A-Za-z0-9\-._~+/]{8,}=*)?)`)

// escapedValue is the start of a string of JSON quoted in a JSON string,
// up to (not including) its closing \": an escaped quote inside it is \\\",
// an escaped backslash \\\\, another escape \\x.
const escapedValue = `\\"(?:\\\\(?:\\"|\\\\|[^"\\])|\\[^"\\]|[^"\\])*`

// secretKeyNames are the keys whose value secretKeyValue redacts.
const secretKeyNames = `(?:access|refresh|id|session|bearer|auth|api|csrf|xsrf|security)[_-]?token|client[_-]?secret|secret[_-]?access[_-]?key|aws[_-]?secret[_-]?access[_-]?key|api[_-]?key|apikey|x-api-key|password|passwd|private[_-]?key|secret|authorization|ssws`

// secretKeyOpenValue: a secret key whose quoted value is still open at the
// end of the text (text cut inside the value, which may hold spaces: a
// passphrase). secretKeyValue needs the closing quote, so it would leave
// the value's beginning as it is.
var secretKeyOpenValue = regexp.MustCompile(`(?i)(?:` + secretKeyNames + `)\\?"?'?\s*[:=]\s*(` + escapedValue + `|"(?:[^"\\]|\\.)*|'[^']*)$`)

// secretElement: the text of an XML element named as a secret key,
// <password>…</password>, <SessionToken>…</SessionToken>, <ns:ClientSecret
// xmlns:ns="…">…</ns:ClientSecret> (XML answers: PAN-OS, AWS query APIs,
// SOAP services), also when written as a CDATA section (<![CDATA[…]]>,
// a text holding < or &, or any text for some writers).
var secretElement = regexp.MustCompile(`(?i)(<(?:[A-Za-z0-9_.-]+:)?(?:` + secretKeyNames + `)(?:\s[^<>]*)?>)((?:<!\[CDATA\[(?s:.*?)\]\]>|[^<])+)(</)`)

// secretElementOpen: an element named as a secret key whose text (or
// CDATA section) is still open at the end of the text (Snippet's cut
// inside it); group 1 is its text.
var secretElementOpen = regexp.MustCompile(`(?i)<(?:[A-Za-z0-9_.-]+:)?(?:` + secretKeyNames + `)(?:\s[^<>]*)?>((?:<!\[CDATA\[(?s:.*?)\]\]>|[^<])*(?:<!\[CDATA\[(?s:.*))?)$`)

// bearerShape: the value of an Authorization header in free text.
var bearerShape = regexp.MustCompile(`(?i)\b(bearer|basic|ssws|token)\s+([A-Za-z0-9\-._~+/]{8,}=*)`)

// jwtShape: header.payload[.signature] of a JWS/JWT (base64url JSON).
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?`)

// awsSecretShape: a 40-character AWS secret access key candidate; checked
// further by looksLikeAWSSecret (hex digests are not secrets).
var awsSecretShape = regexp.MustCompile(`[A-Za-z0-9/+]{40}`)

const redacted = "[REDACTED]"

// RedactShapes replaces credential-shaped values in s (see above).
func RedactShapes(s string) string {
	if s == "" {
		return s
	}
	s = jwtShape.ReplaceAllString(s, redacted)
	s = secretElement.ReplaceAllString(s, "${1}"+redacted+"${3}")
	s = secretKeyValue.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretKeyValue.FindStringSubmatch(m)
		// A quoted value is replaced whole, quotes kept: a password may
		// hold the & or ; that end an unquoted (form or header) value.
		q := ""
		if v := sub[3]; len(v) >= 4 && strings.HasPrefix(v, `\"`) {
			q = v[:2]
		} else if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
			q = v[:1]
		}
		if strings.HasPrefix(strings.TrimPrefix(sub[3], q), "[REDACTED") {
			return m
		}
		return sub[1] + sub[2] + q + redacted + q
	})
	s = bearerShape.ReplaceAllStringFunc(s, func(m string) string {
		sub := bearerShape.FindStringSubmatch(m)
		if !hasDigitOrSymbol(sub[2]) {
			// "token expired", "Bearer realm": words, not credentials.
			return m
		}
		return sub[1] + " " + redacted
	})
	return replaceAWSSecrets(s)
}

func replaceAWSSecrets(s string) string {
	locs := awsSecretShape.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		// Exactly 40 characters: not part of a longer token.
		if (l[0] > 0 && isKeyChar(s[l[0]-1])) || (l[1] < len(s) && isKeyChar(s[l[1]])) || !looksLikeAWSSecret(s[l[0]:l[1]]) {
			continue
		}
		b.WriteString(s[last:l[0]])
		b.WriteString(redacted)
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '+'
}

// looksLikeAWSSecret: mixed case and digits, as AWS secret keys are; a hex
// digest (one case) or a word run is not.
func looksLikeAWSSecret(v string) bool {
	var up, low, dig bool
	for _, r := range v {
		switch {
		case unicode.IsUpper(r):
			up = true
		case unicode.IsLower(r):
			low = true
		case unicode.IsDigit(r):
			dig = true
		}
	}
	return up && low && dig
}

func hasDigitOrSymbol(v string) bool {
	return strings.ContainsFunc(v, func(r rune) bool { return !unicode.IsLetter(r) })
}

// Redact replaces every known secret value (resolved secrets, fetched
// OAuth tokens) in s, then every credential-shaped value (RedactShapes):
// it is for messages that may quote a vendor's answer.
func Redact(s string, secrets []string) string {
	return RedactShapes(redactKnown(s, secrets))
}

// redactKnown replaces the known secret values only.
func redactKnown(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	return s
}

// RedactValue scrubs the known secret values from an action's output. It
// does not apply RedactShapes: outputs hold ids and digests that may look
// like keys.
func RedactValue(v any, secrets []string) any {
	switch x := v.(type) {
	case string:
		return redactKnown(x, secrets)
	case map[string]any:
		for k, e := range x {
			x[k] = RedactValue(e, secrets)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = RedactValue(e, secrets)
		}
		return x
	}
	return v
}
